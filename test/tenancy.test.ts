import { beforeAll, describe, expect, it } from 'vitest';
import { openTestLro } from './helpers/lro.js';
import { loadConfig, lroOptions } from '../src/config.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';

// Each account may have 3 active ops: small enough to reach in a test.
const LIMIT = 3;
const { lro } = await openTestLro({ maxActivePerAccount: LIMIT });
const { call, base } = await startHub(lro);

type Person = { account_id: string; token: string };
const people = {} as Record<'hostAdmin' | 'collab' | 'attacker' | 'busy' | 'racer' | 'retrier', Person>;
let hostId: string;
let hostedProject: string; // placed on the host by its admin; `collab` collaborates on it
let attackerProject: string;
const missingHost = '00000000-0000-4000-8000-00000000dead';

beforeAll(async () => {
  for (const name of Object.keys({ hostAdmin: 0, collab: 0, attacker: 0, busy: 0, racer: 0, retrier: 0 }) as (keyof typeof people)[]) {
    people[name] = (await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name } })).body;
  }
  hostId = (
    await call('POST', '/v1/hosts', {
      token: ADMIN_TOKEN,
      body: { name: 'h', region: 'eu-central', admin_account_id: people.hostAdmin.account_id },
    })
  ).body.host_id;
  hostedProject = (await call('POST', '/v1/projects', { token: people.hostAdmin.token, body: { title: 'hosted', host_id: hostId } })).body
    .project_id;
  expect(
    (
      await call('POST', `/v1/projects/${hostedProject}/collaborators`, {
        token: people.hostAdmin.token,
        body: { account_id: people.collab.account_id },
      })
    ).status,
  ).toBe(200);
  attackerProject = (await call('POST', '/v1/projects', { token: people.attacker.token, body: { title: 'mine' } })).body.project_id;
});

const demo = (scope: { type: string; id?: string }, input: object = {}, extra: object = {}) => ({ kind: 'demo', scope, input, ...extra });
const accountScope = (p: Person) => ({ type: 'account', id: p.account_id });
const opCount = async () => (await lro.db.query('SELECT count(*)::int AS n FROM long_running_operations')).rows[0].n as number;
/** The op, once it reached a terminal status (a long poll, not a sleep). */
const waitDone = async (opId: string) => (await call('GET', `/v1/ops/${opId}/wait?timeout_s=20`, { token: ADMIN_TOKEN })).body;

describe('routing is authorised against the caller (item 1)', () => {
  it("an account cannot fill another tenant's host: 403 for the attack, nothing written, the host admin's op runs", async () => {
    const pool = lro.workerPool({ routing: [`host:${hostId}`], concurrency: 2 });
    await pool.start();
    const before = await opCount();
    const attack = demo({ type: 'project', id: attackerProject }, { host_id: hostId, hang: true }, { priority: 1000 });
    for (let i = 0; i < 2; i++) {
      const res = await call('POST', '/v1/ops', { token: people.attacker.token, body: attack });
      expect(res).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
      expect(res.body.error.message).toContain(`host ${hostId}`);
    }
    // Same with the attacker's own account as the scope, and without the priority.
    const own = await call('POST', '/v1/ops', {
      token: people.attacker.token,
      body: demo(accountScope(people.attacker), { host_id: hostId, hang: true }),
    });
    expect(own.status).toBe(403);
    expect(await opCount()).toBe(before);
    const adminsOwn = await call('POST', '/v1/ops', {
      token: people.hostAdmin.token,
      body: demo(accountScope(people.hostAdmin), { host_id: hostId, steps: 1, step_ms: 0 }),
    });
    expect(adminsOwn.status).toBe(201);
    expect(await waitDone(adminsOwn.body.op_id)).toMatchObject({ status: 'succeeded', routing: `host:${hostId}` });
    await pool.stop();
  });

  it('allowed for the host admin, a collaborator of a project placed on the host, and the hub admin', async () => {
    const onHost = { host_id: hostId, steps: 1, step_ms: 0 };
    const allowed: [string, string, object][] = [
      ['host admin, own account scope', people.hostAdmin.token, demo(accountScope(people.hostAdmin), onHost)],
      ['collaborator, the hosted project', people.collab.token, demo({ type: 'project', id: hostedProject }, onHost)],
      ['collaborator, own account scope', people.collab.token, demo(accountScope(people.collab), onHost)],
      ['hub admin, hub scope', ADMIN_TOKEN, demo({ type: 'hub' }, onHost, { priority: 1000 })],
      ['hub admin, a host that does not exist', ADMIN_TOKEN, demo({ type: 'hub' }, { host_id: missingHost })],
      ['attacker, hub-routed in its own project', people.attacker.token, demo({ type: 'project', id: attackerProject })],
    ];
    for (const [who, token, body] of allowed) {
      const res = await call('POST', '/v1/ops', { token, body });
      expect({ who, status: res.status }).toEqual({ who, status: 201 });
      await call('POST', `/v1/ops/${res.body.op_id}/cancel`, { token: ADMIN_TOKEN }); // stay under the cap
    }
  });

  it('a host that does not exist is refused exactly like one the caller may not use', async () => {
    const answer = async (host: string) => {
      const res = await call('POST', '/v1/ops', {
        token: people.attacker.token,
        body: demo(accountScope(people.attacker), { host_id: host }),
      });
      return { status: res.status, body: JSON.stringify(res.body).replaceAll(host, '<host>') };
    };
    const [real, missing] = [await answer(hostId), await answer(missingHost)];
    expect(real.status).toBe(403);
    expect(missing).toEqual(real);
  });

  it('retry re-checks the retrying caller: 403 when it may not route there or no longer may use the scope', async () => {
    // The hub admin puts an op on the host in the attacker's project; the attacker can read it but not rerun it there.
    const placed = await call('POST', '/v1/ops', {
      token: ADMIN_TOKEN,
      body: demo({ type: 'project', id: attackerProject }, { host_id: hostId }),
    });
    expect((await call('POST', `/v1/ops/${placed.body.op_id}/cancel`, { token: ADMIN_TOKEN })).body.status).toBe('canceled');
    const before = await opCount();
    const retry = await call('POST', `/v1/ops/${placed.body.op_id}/retry`, { token: people.attacker.token });
    expect(retry).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    // A collaborator's op on the host; once removed from the project it may still read its op but not retry it.
    const retrier = people.retrier;
    await call('POST', `/v1/projects/${hostedProject}/collaborators`, {
      token: people.hostAdmin.token,
      body: { account_id: retrier.account_id },
    });
    const own = await call('POST', '/v1/ops', {
      token: retrier.token,
      body: demo({ type: 'project', id: hostedProject }, { host_id: hostId }),
    });
    expect(own.status).toBe(201);
    await call('POST', `/v1/ops/${own.body.op_id}/cancel`, { token: retrier.token });
    await lro.db.query('DELETE FROM project_collaborators WHERE account_id = $1', [retrier.account_id]);
    const countBefore = await opCount();
    expect((await call('GET', `/v1/ops/${own.body.op_id}`, { token: retrier.token })).status).toBe(200);
    expect((await call('POST', `/v1/ops/${own.body.op_id}/retry`, { token: retrier.token })).status).toBe(403);
    expect(await opCount()).toBe(countBefore);
    expect(countBefore).toBe(before + 1);
    // The host admin and the hub admin may retry the hub admin's placement.
    const byHostAdmin = await call('POST', `/v1/ops/${own.body.op_id}/retry`, { token: people.hostAdmin.token });
    expect(byHostAdmin).toMatchObject({ status: 201, body: { parent_id: own.body.op_id, created_by: people.hostAdmin.account_id } });
    const byAdmin = await call('POST', `/v1/ops/${placed.body.op_id}/retry`, { token: ADMIN_TOKEN });
    expect(byAdmin).toMatchObject({ status: 201, body: { parent_id: placed.body.op_id, created: true } });
    for (const id of [byHostAdmin.body.op_id, byAdmin.body.op_id]) await call('POST', `/v1/ops/${id}/cancel`, { token: ADMIN_TOKEN });
  });
});

describe('priority and volume (item 2)', () => {
  it('accounts may use priorities -100..100 (400 outside, nothing written); the admin the whole range; a retry clamps', async () => {
    const scope = accountScope(people.attacker);
    const before = await opCount();
    for (const priority of [101, -101, 1000]) {
      const res = await call('POST', '/v1/ops', { token: people.attacker.token, body: demo(scope, {}, { priority }) });
      expect(res).toMatchObject({ status: 400, body: { error: { code: 'invalid_input', details: { min: -100, max: 100 } } } });
      expect(res.body.error.message).toContain(`priority ${priority} is outside the range you may use, -100..100`);
    }
    expect(await opCount()).toBe(before);
    const top = await call('POST', '/v1/ops', { token: people.attacker.token, body: demo(scope, {}, { priority: 100 }) });
    expect(top).toMatchObject({ status: 201, body: { priority: 100 } });
    await call('POST', `/v1/ops/${top.body.op_id}/cancel`, { token: people.attacker.token });
    // The admin's urgent op in the attacker's project: the attacker's retry of it runs at 100, not 1000.
    const urgent = await call('POST', '/v1/ops', {
      token: ADMIN_TOKEN,
      body: demo({ type: 'project', id: attackerProject }, {}, { priority: 1000 }),
    });
    expect(urgent.body.priority).toBe(1000);
    await call('POST', `/v1/ops/${urgent.body.op_id}/cancel`, { token: ADMIN_TOKEN });
    const retried = await call('POST', `/v1/ops/${urgent.body.op_id}/retry`, { token: people.attacker.token });
    expect(retried).toMatchObject({ status: 201, body: { priority: 100, parent_id: urgent.body.op_id } });
    await call('POST', `/v1/ops/${retried.body.op_id}/cancel`, { token: people.attacker.token });
  });

  it(`an account at ${LIMIT} active ops gets 429 too_many_ops, may create again once one finishes; the admin is not capped`, async () => {
    const { busy } = people;
    const ids: string[] = [];
    for (let i = 0; i < LIMIT; i++) {
      // hub-routed, no hub worker: stays queued
      const res = await call('POST', '/v1/ops', { token: busy.token, body: demo(accountScope(busy)) });
      expect(res.status).toBe(201);
      ids.push(res.body.op_id);
    }
    const before = await opCount();
    const refused = await call('POST', '/v1/ops', { token: busy.token, body: demo(accountScope(busy)) });
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'too_many_ops', details: { limit: LIMIT } } } });
    expect(refused.body.error.message).toMatch(/already has 3 active \(queued or running\) ops.*LRO_MAX_ACTIVE_PER_ACCOUNT.*cancel/);
    expect(await opCount()).toBe(before);
    // A dedupe key an active op holds still answers with that op (nothing new is created).
    const keyed = await call('POST', `/v1/ops/${ids[0]}/cancel`, { token: busy.token });
    expect(keyed.body.status).toBe('canceled');
    const withKey = await call('POST', '/v1/ops', { token: busy.token, body: demo(accountScope(busy), {}, { dedupe_key: 'k' }) });
    expect(withKey).toMatchObject({ status: 201, body: { created: true } });
    expect(await call('POST', '/v1/ops', { token: busy.token, body: demo(accountScope(busy), {}, { dedupe_key: 'k' }) })).toMatchObject({
      status: 200,
      body: { op_id: withKey.body.op_id, created: false },
    });
    expect((await call('POST', '/v1/ops', { token: busy.token, body: demo(accountScope(busy)) })).status).toBe(429);
    await call('POST', `/v1/ops/${ids[1]}/cancel`, { token: busy.token });
    expect((await call('POST', '/v1/ops', { token: busy.token, body: demo(accountScope(busy)) })).status).toBe(201);
    // The admin creates past any account's cap.
    for (let i = 0; i <= LIMIT; i++)
      expect((await call('POST', '/v1/ops', { token: ADMIN_TOKEN, body: demo({ type: 'hub' }) })).status).toBe(201);
  });

  it('concurrent creates cannot overshoot the cap: 30 at once from an idle account make exactly 3 ops', async () => {
    const { racer } = people;
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => call('POST', '/v1/ops', { token: racer.token, body: demo(accountScope(racer)) })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30 - LIMIT);
    const active = await lro.db.query(
      "SELECT count(*)::int AS n FROM long_running_operations WHERE created_by = $1 AND status IN ('queued', 'running')",
      [racer.account_id],
    );
    expect(active.rows[0].n).toBe(LIMIT);
  });

  it('the library caps too: createMany of 5 for one account in one statement inserts 3, and none for the admin is skipped', async () => {
    const accountId = (await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name: 'bulk' } })).body.account_id;
    const five = Array.from({ length: 5 }, () => demo(accountScope({ account_id: accountId, token: '' })));
    expect(await lro.store.createMany(five, { createdBy: accountId })).toHaveLength(LIMIT);
    expect(await lro.store.createMany(five)).toHaveLength(5);
  });

  it('LRO_MAX_ACTIVE_PER_ACCOUNT: 1000 by default, 0 for no limit, a bad value stops with its name', () => {
    expect(lroOptions(loadConfig({}), 'postgres://x').maxActivePerAccount).toBe(1000);
    expect(loadConfig({ LRO_MAX_ACTIVE_PER_ACCOUNT: '0' }).LRO_MAX_ACTIVE_PER_ACCOUNT).toBe(0);
    expect(() => loadConfig({ LRO_MAX_ACTIVE_PER_ACCOUNT: '-1' })).toThrow(/LRO_MAX_ACTIVE_PER_ACCOUNT/);
    expect(() => loadConfig({ LRO_MAX_ACTIVE_PER_ACCOUNT: 'lots' })).toThrow(/LRO_MAX_ACTIVE_PER_ACCOUNT/);
  });

  it('an admin token must be URL-safe: a ; or # in it would be cut from ?access_token= (and from the log redaction)', () => {
    expect(() => loadConfig({ LRO_ADMIN_TOKEN: 'adm;SECRETTAIL-0123456789' })).toThrow(/LRO_ADMIN_TOKEN: must be URL-safe/);
    expect(loadConfig({ LRO_ADMIN_TOKEN: ADMIN_TOKEN }).LRO_ADMIN_TOKEN).toBe(ADMIN_TOKEN);
  });
});

describe('project placement (item 4)', () => {
  it('only the host admin places a project on a host; a missing host answers the same 403; backup_region must exist', async () => {
    const place = (token: string, body: object) => call('POST', '/v1/projects', { token, body });
    const before = (await lro.db.query('SELECT count(*)::int AS n FROM projects')).rows[0].n;
    const denied = await place(people.attacker.token, { title: 'squat', host_id: hostId });
    expect(denied).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const missing = await place(people.attacker.token, { title: 'squat', host_id: missingHost });
    expect(JSON.stringify(missing.body).replaceAll(missingHost, '<host>')).toBe(JSON.stringify(denied.body).replaceAll(hostId, '<host>'));
    expect(missing.status).toBe(403);
    const badRegion = await place(people.attacker.token, { title: 'x', backup_region: 'atlantis' });
    expect(badRegion).toMatchObject({ status: 400, body: { error: { code: 'invalid_input' } } });
    expect(badRegion.body.error.message).toContain('"atlantis" is not a backup region; GET /v1/regions lists them');
    expect((await lro.db.query('SELECT count(*)::int AS n FROM projects')).rows[0].n).toBe(before);
    expect(await place(people.hostAdmin.token, { title: 'ok', host_id: hostId, backup_region: 'eu-central' })).toMatchObject({
      status: 201,
      body: { host_id: hostId, backup_region: 'eu-central' },
    });
    expect((await place(people.attacker.token, { title: 'ok', backup_region: 'local' })).status).toBe(201);
    // Collaborators of a project on a host may run ops there, so only the host admin adds them.
    const other = people.racer.account_id;
    expect(
      await call('POST', `/v1/projects/${hostedProject}/collaborators`, { token: people.collab.token, body: { account_id: other } }),
    ).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(
      (await call('POST', `/v1/projects/${attackerProject}/collaborators`, { token: people.attacker.token, body: { account_id: other } }))
        .status,
    ).toBe(200);
    // The database holds the rule too (for `lro admin project-create` and any other writer).
    await expect(lro.db.query("INSERT INTO projects (title, backup_region) VALUES ('x', 'atlantis')")).rejects.toThrow(
      /projects_backup_region_fkey/,
    );
  });
});

describe('retry with a dedupe key now held by another op (item 10)', () => {
  it('answers 200 with the op that holds the key and created: false; never a 201 for an op it did not create', async () => {
    const { collab } = people;
    const keyed = demo({ type: 'project', id: hostedProject }, {}, { dedupe_key: 'nightly' });
    const first = await call('POST', '/v1/ops', { token: collab.token, body: keyed });
    expect(first).toMatchObject({ status: 201, body: { created: true } });
    await call('POST', `/v1/ops/${first.body.op_id}/cancel`, { token: collab.token });
    const holder = await call('POST', '/v1/ops', { token: collab.token, body: keyed });
    expect(holder).toMatchObject({ status: 201, body: { created: true } });
    const before = await opCount();
    const retry = await call('POST', `/v1/ops/${first.body.op_id}/retry`, { token: collab.token });
    expect(retry).toMatchObject({ status: 200, body: { op_id: holder.body.op_id, parent_id: null, created: false } });
    expect(await opCount()).toBe(before);
    await call('POST', `/v1/ops/${holder.body.op_id}/cancel`, { token: collab.token });
    const fresh = await call('POST', `/v1/ops/${first.body.op_id}/retry`, { token: collab.token });
    expect(fresh).toMatchObject({ status: 201, body: { parent_id: first.body.op_id, created: true } });
    await call('POST', `/v1/ops/${fresh.body.op_id}/cancel`, { token: collab.token });
  });
});

describe('siblings found by a security read', () => {
  it("a host admin reads, lists and cancels ops running on its host, whoever's scope they are in", async () => {
    const { body: op } = await call('POST', '/v1/ops', {
      token: people.collab.token,
      body: demo(accountScope(people.collab), { host_id: hostId, hang: true }),
    });
    expect((await call('GET', `/v1/ops/${op.op_id}`, { token: people.hostAdmin.token })).status).toBe(200);
    const listed = await call('GET', '/v1/ops?status=running,queued&limit=500', { token: people.hostAdmin.token });
    expect(listed.body.ops.map((o: { op_id: string }) => o.op_id)).toContain(op.op_id);
    const others = await call('GET', '/v1/ops?limit=500', { token: people.attacker.token });
    expect(others.body.ops.map((o: { op_id: string }) => o.op_id)).not.toContain(op.op_id);
    expect((await call('POST', `/v1/ops/${op.op_id}/cancel`, { token: people.hostAdmin.token })).body).toMatchObject({
      status: 'canceled',
    });
    // Not every account: the attacker still gets the same 404 as for an op that does not exist.
    expect((await call('GET', `/v1/ops/${op.op_id}`, { token: people.attacker.token })).status).toBe(404);
  });

  it('a host id in capitals routes to the host as hosts claim it (lowercase), so the check and the routing agree', async () => {
    const res = await call('POST', '/v1/ops', {
      token: people.collab.token,
      body: demo(accountScope(people.collab), { host_id: hostId.toUpperCase(), hang: true }),
    });
    expect(res).toMatchObject({ status: 201, body: { routing: `host:${hostId}` } });
    await call('POST', `/v1/ops/${res.body.op_id}/cancel`, { token: ADMIN_TOKEN });
  });

  it("a host's region must be a backup region, like a project's (400, nothing written)", async () => {
    const res = await call('POST', '/v1/hosts', { token: ADMIN_TOKEN, body: { name: 'far', region: 'mars' } });
    expect(res).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_input', message: 'region "mars" is not a backup region; GET /v1/regions lists them' } },
    });
  });

  it('/metrics and /readyz answer no other origin (no CORS), while the API does', async () => {
    const origin = { origin: 'https://elsewhere.example' };
    const api = await call('GET', '/v1/kinds', { token: people.attacker.token, headers: origin });
    expect(api.headers.get('access-control-allow-origin')).toBe('https://elsewhere.example');
    // Spelled with an escape the router decodes (`/%6Detrics` is `/metrics`): still no CORS.
    for (const path of ['/metrics', '/readyz', '/healthz', '/%6Detrics', '/metric%73', '/%72eadyz']) {
      const res = await fetch(base + path, { headers: origin });
      await res.arrayBuffer();
      expect({ path, ok: res.ok, acao: res.headers.get('access-control-allow-origin') }).toEqual({ path, ok: true, acao: null });
    }
  });
});
