import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HostStore } from '../src/domain/hosts.js';
import { streamOf } from '../src/lro/streams/types.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';
import { openBackupLro, projectDir, treeOf, writeProjectFiles } from './helpers/projects.js';

// project-move on the hub: stop, back up if needed, place, start on the destination (restore: auto),
// each a phase and the long ones child ops; refused destinations run nothing; a failure leaves the
// project where it was, startable, nothing lost.
const b = await openBackupLro();
const { lro, projects } = b;
const hosts = new HostStore({ db: lro.db });
await lro.workerPool({ routing: ['hub'], ownerType: 'hub' }).start();
const h1 = await b.host('move-from');
const h2 = await b.host('move-to');
await h1.pool.start();
await h2.pool.start();

const move = (projectId: string, destHostId: string) =>
  lro.store
    .create({ kind: 'project-move', scope: { type: 'project', id: projectId }, input: { dest_host_id: destHostId } })
    .then(({ op }) => lro.wait(op.op_id, 120_000));

async function runningProject() {
  const p = await b.newProject(h1.host_id);
  writeProjectFiles(projectDir(h1.dataDir, p.project_id));
  expect(await b.run('project-start', p.project_id)).toMatchObject({ status: 'succeeded' });
  return p.project_id;
}

describe('project-move', () => {
  it('moves a running project to another host of its region: every file arrives byte for byte', async () => {
    const id = await runningProject();
    const before = treeOf(projectDir(h1.dataDir, id));
    const done = await move(id, h2.host_id);
    expect(done).toMatchObject({ status: 'succeeded', result: { from_host_id: h1.host_id, to_host_id: h2.host_id, backed_up: true } });
    expect(await projects.get(id)).toMatchObject({ host_id: h2.host_id, run_state: 'running', backup_state: 'fresh' });
    expect(treeOf(projectDir(h2.dataDir, id))).toEqual(before);
    const phases = done.progress_summary!.phases.map((p) => p.phase);
    expect(phases).toEqual(expect.arrayContaining(['check', 'stop', 'backup', 'place', 'start']));
    const children = (await lro.store.list({ parent_id: done.op_id })).ops.map((c) => c.kind).sort();
    expect(children).toEqual(['project-backup', 'project-start', 'project-stop']);
    // Moved back while fresh: no second backup. Asked twice at once, it is one move (never two at once).
    const request = { kind: 'project-move', scope: { type: 'project', id }, input: { dest_host_id: h1.host_id } };
    const [first, second] = [await lro.store.create(request), await lro.store.create(request)];
    expect(second).toMatchObject({ created: false, op: { op_id: first.op.op_id } });
    expect(await lro.wait(first.op.op_id, 120_000)).toMatchObject({ status: 'succeeded', result: { backed_up: false } });
  });

  it('the API answer says first what a move does not take along', async () => {
    const id = await runningProject();
    const { call } = await startHub(lro);
    const made = await call('POST', '/v1/ops', {
      token: ADMIN_TOKEN,
      body: { kind: 'project-move', scope: { type: 'project', id }, input: { dest_host_id: h2.host_id } },
    });
    expect(made).toMatchObject({
      status: 201,
      body: { created: true, warnings: [expect.stringMatching(/^only the backup history moves/)] },
    });
    expect(await lro.wait(made.body.op_id, 120_000)).toMatchObject({ status: 'succeeded' });
  });

  it('refuses another region, a deprovisioned host, a host that is off, before anything runs', async () => {
    const id = await runningProject();
    const far = await hosts.create({ name: 'far', region: 'eu-central' });
    await hosts.setStatus(far.host_id, 'running');
    const gone = await b.host('deprovisioned');
    await lro.db.query(`UPDATE hosts SET status = 'deprovisioned' WHERE host_id = $1`, [gone.host_id]);
    const off = await hosts.create({ name: 'off', region: 'local' });
    const count = async () => (await lro.db.query('SELECT count(*)::int AS n FROM long_running_operations')).rows[0].n;
    const before = await count();
    const cases: [string, RegExp][] = [
      [far.host_id, /is in region eu-central, the project's backups in local: a move stays in one region/],
      [gone.host_id, /is deprovisioned: a project moves only to a running host/],
      [off.host_id, /is off: a project moves only to a running host/],
      [h1.host_id, /is on host move-from already: choose another host/],
    ];
    for (const [dest, message] of cases) {
      const create = lro.store.create({ kind: 'project-move', scope: { type: 'project', id }, input: { dest_host_id: dest } });
      await expect(create).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(message) });
    }
    expect(await count()).toBe(before);
    expect(await projects.get(id)).toMatchObject({ host_id: h1.host_id, run_state: 'running' });
  });

  it('a failed backup changes nothing; a failed start puts the project back, startable, nothing lost', async () => {
    const id = await runningProject();
    const before = treeOf(projectDir(h1.dataDir, id));
    // The bucket cannot be written: the backup fails, the project stays placed where it was.
    const bucketDir = path.join(b.base, 'read-only-bucket');
    mkdirSync(bucketDir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', bucketDir]);
    await lro.db.query(`UPDATE backup_regions SET repository = 'file:read-only-bucket' WHERE region = 'local'`);
    try {
      const failed = await move(id, h2.host_id);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'backup_failed' } });
    } finally {
      await lro.db.query(`UPDATE backup_regions SET repository = 'file:.data/buckets/local' WHERE region = 'local'`);
      execFileSync('umount', [bucketDir]);
    }
    expect(await projects.get(id)).toMatchObject({ host_id: h1.host_id });
    // The destination cannot start it (its data dir read-only): placed back on the source.
    const ro = await b.host('move-to-read-only');
    mkdirSync(ro.dataDir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro.dataDir]);
    onTestFinished(() => void execFileSync('umount', [ro.dataDir]));
    await ro.pool.start();
    try {
      const failed = await move(id, ro.host_id);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'start_failed' } });
      expect((failed.error as { message: string }).message).toMatch(/back on its old host/);
    } finally {
      await ro.pool.stop();
    }
    expect(await projects.get(id)).toMatchObject({ host_id: h1.host_id });
    expect(await b.run('project-start', id)).toMatchObject({ status: 'succeeded' });
    expect(treeOf(projectDir(h1.dataDir, id))).toEqual(before);
  });

  it('a failed stop or placement (injected in Postgres) leaves the project on its host, startable, nothing lost', async () => {
    const id = await runningProject();
    const before = treeOf(projectDir(h1.dataDir, id));
    // A trigger refuses the step's write for this project alone: the step fails as a real one would.
    const refuse = async (name: string, when: string) => {
      await lro.db.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected: ${name}'; END $$`);
      await lro.db.query(`CREATE TRIGGER ${name} BEFORE UPDATE ON projects FOR EACH ROW
        WHEN (NEW.project_id = '${id}' AND ${when}) EXECUTE FUNCTION ${name}()`);
      return () => lro.db.query(`DROP TRIGGER ${name} ON projects; DROP FUNCTION ${name}()`);
    };
    const unstop = await refuse('refuse_stop', `NEW.run_state = 'stopped'`);
    try {
      const failed = await move(id, h2.host_id);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'stop_failed' } });
      expect((failed.error as { message: string }).message).toMatch(/injected: refuse_stop/);
    } finally {
      await unstop();
    }
    expect(await projects.get(id)).toMatchObject({ host_id: h1.host_id, run_state: 'running' });
    const unplace = await refuse('refuse_place', `NEW.host_id IS DISTINCT FROM OLD.host_id`);
    try {
      const failed = await move(id, h2.host_id); // stopped and backed up, then the placement fails on every attempt
      expect(failed).toMatchObject({ status: 'failed', attempt: 3, error: { message: expect.stringMatching(/injected: refuse_place/) } });
      const kinds = (await lro.store.list({ parent_id: failed.op_id })).ops.map((c) => `${c.kind}:${c.status}`).sort();
      expect(kinds).toEqual(['project-backup:succeeded', 'project-stop:succeeded']); // each once, recognised on the retries
    } finally {
      await unplace();
    }
    expect(await projects.get(id)).toMatchObject({ host_id: h1.host_id, run_state: 'stopped', backup_state: 'fresh' });
    expect(await b.run('project-start', id)).toMatchObject({ status: 'succeeded' });
    expect(treeOf(projectDir(h1.dataDir, id))).toEqual(before);
  });

  it('canceled while its stop waits (the source host not claiming): the stop child canceled too, nothing changed', async () => {
    const id = await runningProject();
    await h1.pool.stop(); // the host still says running, but claims nothing: the stop child waits
    try {
      const { op } = await lro.store.create({ kind: 'project-move', scope: { type: 'project', id }, input: { dest_host_id: h2.host_id } });
      await expect
        .poll(async () => (await lro.store.list({ parent_id: op.op_id })).ops.map((c) => c.kind), { timeout: 10_000 })
        .toEqual(['project-stop']);
      await lro.store.cancel(op.op_id);
      expect(await lro.wait(op.op_id, 30_000)).toMatchObject({ status: 'canceled' });
      expect((await lro.store.list({ parent_id: op.op_id })).ops).toMatchObject([{ kind: 'project-stop', status: 'canceled' }]);
      expect(await projects.get(id)).toMatchObject({ host_id: h1.host_id, run_state: 'running' });
    } finally {
      await h1.pool.start();
    }
  });

  it('from a host that is off: moved from its backup, and a stale backup is said plainly', async () => {
    const id = await runningProject();
    expect(await b.run('project-backup', id)).toMatchObject({ status: 'succeeded' });
    writeFileSync(path.join(projectDir(h1.dataDir, id), 'project', 'late.txt'), 'after the backup');
    expect(await b.run('project-stop', id)).toMatchObject({ status: 'succeeded' }); // its scan: stale now
    await hosts.setStatus(h1.host_id, 'off');
    onTestFinished(() => hosts.setStatus(h1.host_id, 'running'));
    const done = await move(id, h2.host_id);
    expect(done).toMatchObject({ status: 'succeeded', result: { backed_up: false } });
    const { events } = await lro.streams.backend.history(streamOf(done), 1, 200);
    const said = events.map((e) => (e as { message?: string }).message ?? '').join('\n');
    expect(said).toMatch(/is off: moving from the last backup .* STALE: edited/);
    expect(said).toContain('only the backup history moves');
    expect(await projects.get(id)).toMatchObject({ host_id: h2.host_id, run_state: 'running' });
  });
});
