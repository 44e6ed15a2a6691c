import { describe, expect, it, vi } from 'vitest';
import { hostSetStatus } from '../src/domain/sql/hosts.js';
import type { Lro } from '../src/app/lro.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';
import { openTestLro } from './helpers/lro.js';
import { openBackupLro } from './helpers/projects.js';

// Scheduled backups: pg-boss keeps the crons in this database; every hub runs a scheduler; a tick
// is one op whatever the number of hubs, and the sweep it makes backs up each stale project once.
const b = await openBackupLro();
const hubA = b.lro;
const { lro: hubB } = await openTestLro({ connectionString: b.url, backup: { passwordFile: b.passwordFile, baseDir: b.base } });
const { call } = await startHub(hubA);
const admin = { token: ADMIN_TOKEN };

const on = await b.host('host-on');
const off = await b.host('host-off');
await hostSetStatus(hubA.db, { host_id: off.host_id, status: 'off' });

/** A project on `hostId` whose files changed at `edited`, last backed up at `backup`. */
async function project(hostId: string, edited: string | null, backup: string | null) {
  const p = await b.newProject(hostId);
  await hubA.db.query('UPDATE projects SET last_edited = $2, last_backup = $3 WHERE project_id = $1', [p.project_id, edited, backup]);
  return p.project_id;
}

const opsOf = async (lro: Lro, kind: string) =>
  (
    await lro.db.query<{ op_id: string; scope_id: string; status: string; result: unknown }>(
      'SELECT op_id, scope_id, status, result FROM long_running_operations WHERE kind = $1 ORDER BY created_at',
      [kind],
    )
  ).rows;

/** The cron check's clock in pg-boss (one hub sets it per interval): it moving on is a check done. */
const cronOn = async () => String((await hubA.db.query('SELECT cron_on FROM pgboss.version')).rows[0]?.cron_on ?? '');

describe('scheduled backups', () => {
  it('two hubs, one tick: one sweep, exactly one backup op per stale project on a running host', async () => {
    const stale = await project(on.host_id, '2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z');
    const never = await project(on.host_id, '2026-01-02T00:00:00Z', null);
    await project(on.host_id, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'); // fresh
    await project(on.host_id, null, null); // never edited: nothing to save
    await project(off.host_id, '2026-01-02T00:00:00Z', null); // its host is off: left for later

    // A cron that ticks once, in this minute (with time left in it for both hubs to see it).
    let now = new Date((await hubA.db.query('SELECT now()')).rows[0].now);
    if (now.getUTCSeconds() > 40) {
      await new Promise((r) => setTimeout(r, (61 - now.getUTCSeconds()) * 1000)); // the minute's end: a clock boundary, not an event
      now = new Date((await hubA.db.query('SELECT now()')).rows[0].now);
    }
    const cron = `${now.getUTCMinutes()} ${now.getUTCHours()} * * *`;
    const pools = [hubA, hubB].map((lro) => lro.workerPool({ routing: ['hub'], ownerType: 'hub' }));
    const schedulers = [hubA, hubB].map((lro) => lro.scheduler({ cronCheckS: 1, pollS: 0.5 }));
    try {
      await Promise.all(pools.map((p) => p.start()));
      const set = await call('PUT', '/v1/admin/schedules/backups', { ...admin, body: { cron, kind: 'backup-sweep' } });
      expect(set).toMatchObject({ status: 200, body: { name: 'backups', cron, timezone: 'UTC', kind: 'backup-sweep' } });
      await Promise.all(schedulers.map((s) => s.start()));

      await vi.waitFor(async () => expect((await opsOf(hubA, 'backup-sweep'))[0]?.status).toBe('succeeded'), {
        timeout: 30_000,
        interval: 200,
      });
      // Both hubs go on checking the crons: three more checks, and still one tick.
      const seen = new Set([await cronOn()]);
      await vi.waitFor(async () => expect(seen.add(await cronOn()).size).toBeGreaterThan(3), { timeout: 30_000, interval: 200 });

      const sweeps = await opsOf(hubA, 'backup-sweep');
      expect(sweeps).toHaveLength(1);
      expect(sweeps[0]!.result).toEqual({ stale: 3, created: 2, already_active: 0, host_off: 1 });
      const backups = await opsOf(hubA, 'project-backup');
      expect(backups.map((o) => o.scope_id).sort()).toEqual([stale, never].sort());
      const jobs = await hubA.db.query("SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'lro-schedule-backups'");
      expect(jobs.rows[0].n).toBe(1);

      // A late or doubled tick (here: two more, from either hub) makes no second backup.
      for (const s of schedulers) {
        const { op } = await s.tick('backups');
        expect(await hubA.wait(op.op_id, 30_000)).toMatchObject({ status: 'succeeded', result: { created: 0, already_active: 2 } });
      }
      expect((await opsOf(hubA, 'project-backup')).length).toBe(2);
      // The host's page counts its projects by backup state.
      const host = await call('GET', `/v1/hosts/${on.host_id}`, admin);
      expect(host.body.backup_counts).toEqual({ none: 2, fresh: 1, stale: 1 });
    } finally {
      await Promise.all(schedulers.map((s) => s.stop()));
      await Promise.all(pools.map((p) => p.stop({ gracefulMs: 0 })));
    }
  }, 120_000);

  it('the admin API lists, sets, runs and removes schedules, and refuses what could never run', async () => {
    const put = (name: string, body: unknown) => call('PUT', `/v1/admin/schedules/${name}`, { ...admin, body });
    expect(await put('nightly', { cron: '0 3 * * *', timezone: 'Europe/Berlin', kind: 'backup-sweep' })).toMatchObject({
      status: 200,
      body: { name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', scope: { type: 'hub', id: 'hub' }, input: {} },
    });
    expect((await call('GET', '/v1/admin/schedules', admin)).body.schedules.map((s: { name: string }) => s.name)).toContain('nightly');

    const refused: [string, unknown, RegExp][] = [
      ['nightly', { cron: 'every night', kind: 'backup-sweep' }, /^cron: every night in UTC is not a schedule/],
      ['nightly', { cron: '0 3 * * *', timezone: 'Mars/Olympus', kind: 'backup-sweep' }, /IANA time zone[\s\S]*at timezone/],
      ['nightly', { cron: '0 3 * * *', kind: 'no-such-kind' }, /no-such-kind/],
      ['nightly', { cron: '0 3 * * *', kind: 'backup-sweep', input: { x: 1 } }, /input/],
      ['nightly', { cron: '0 3 * * *', kind: 'backup-sweep', scope: { type: 'project', id: 'x' } }, /scope/],
      ['nightly', { kind: 'backup-sweep' }, /cron/],
      ['Bad_Name', { cron: '0 3 * * *', kind: 'backup-sweep' }, /^path is invalid: ✖ must be 1 to 48 lowercase letters[\s\S]*at name/],
    ];
    for (const [name, body, message] of refused) {
      const res = await put(name, body);
      expect({ name, body, status: res.status }).toEqual({ name, body, status: 400 });
      expect(res.body.error.message).toMatch(message);
    }
    // Nothing refused was stored: the schedule is as it was set.
    expect((await call('GET', '/v1/admin/schedules/nightly', admin)).body).toMatchObject({ cron: '0 3 * * *', timezone: 'Europe/Berlin' });

    const run = await call('POST', '/v1/admin/schedules/nightly/run', admin);
    expect(run).toMatchObject({ status: 201, body: { kind: 'backup-sweep', dedupe_key: 'schedule:nightly' } });
    expect(await call('DELETE', '/v1/admin/schedules/nightly', admin)).toMatchObject({ status: 204 });
    expect(await call('DELETE', '/v1/admin/schedules/nightly', admin)).toMatchObject({ status: 404 });
    expect(await call('GET', '/v1/admin/schedules/nightly', admin)).toMatchObject({ status: 404 });
    // Only the operator: an account's token is refused.
    expect((await call('GET', '/v1/admin/schedules', { token: 'lro_not_an_admin' })).status).toBe(401);
  });
});
