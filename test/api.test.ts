import { beforeAll, describe, expect, it } from 'vitest';
import { hubOp, openTestLro } from './helpers/lro.js';
import { ADMIN_TOKEN, readSse, startHub } from './helpers/hub.js';
import { backupInsert } from '../src/domain/sql/backups.js';
import { seededRandom } from './helpers/seed.js';

const { lro } = await openTestLro();
const pool = lro.workerPool({ concurrency: 8, summaryIntervalS: 0.2 });
await pool.start();
const { base, call } = await startHub(lro);

const people: Record<'owner' | 'collab' | 'other' | 'hostAdmin', { account_id: string; token: string }> = {} as never;
let projectId: string;
let hostId: string;

beforeAll(async () => {
  for (const name of ['owner', 'collab', 'other', 'hostAdmin'] as const) {
    const res = await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name } });
    expect(res.status).toBe(201);
    people[name] = res.body;
  }
  const project = await call('POST', '/v1/projects', { token: people.owner.token, body: { title: 'thesis' } });
  expect(project.status).toBe(201);
  projectId = project.body.project_id;
  expect(
    (
      await call('POST', `/v1/projects/${projectId}/collaborators`, {
        token: people.owner.token,
        body: { account_id: people.collab.account_id },
      })
    ).status,
  ).toBe(200);
  const host = await call('POST', '/v1/hosts', {
    token: ADMIN_TOKEN,
    body: { name: 'h1', region: 'eu-central', admin_account_id: people.hostAdmin.account_id },
  });
  expect(host.status).toBe(201);
  hostId = host.body.host_id;
});

const projectOp = (input: object = { steps: 2, step_ms: 5 }, extra: object = {}) => ({
  kind: 'demo',
  scope: { type: 'project', id: projectId },
  input,
  ...extra,
});

async function rowCount(): Promise<number> {
  return (await lro.db.query('SELECT count(*)::int AS n FROM long_running_operations')).rows[0].n;
}

describe('ops routes', () => {
  it('create (dedupe: 201 then 200 with the same op), get, wait, list, cancel 409, retry 201, dismiss', async () => {
    const first = await call('POST', '/v1/ops', {
      token: people.owner.token,
      body: projectOp({ steps: 2, step_ms: 5 }, { dedupe_key: 'k1' }),
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      kind: 'demo',
      status: expect.stringMatching(/^(queued|running)$/), // running: the hub's idle pool started it as it was created
      scope_type: 'project',
      scope_id: projectId,
      created_by: people.owner.account_id,
    });
    const again = await call('POST', '/v1/ops', {
      token: people.collab.token,
      body: projectOp({ steps: 2, step_ms: 5 }, { dedupe_key: 'k1' }),
    });
    expect(again.status).toBe(200);
    expect(again.body.op_id).toBe(first.body.op_id);
    const id = first.body.op_id;
    expect((await call('GET', `/v1/ops/${id}`, { token: people.owner.token })).body.op_id).toBe(id);
    const waited = await call('GET', `/v1/ops/${id}/wait?timeout_s=20`, { token: people.owner.token });
    expect(waited).toMatchObject({ status: 200, body: { status: 'succeeded', result: { steps_done: 6 } } });
    const list = await call('GET', `/v1/ops?scope_type=project&scope_id=${projectId}&status=succeeded`, { token: people.collab.token });
    expect(list.body.ops.map((o: { op_id: string }) => o.op_id)).toContain(id);
    const cancel = await call('POST', `/v1/ops/${id}/cancel`, { token: people.owner.token });
    expect(cancel).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    const failed = await call('POST', '/v1/ops', {
      token: people.owner.token,
      body: projectOp({ steps: 1, step_ms: 0, fail_at_step: 1, permanent: true }),
    });
    await call('GET', `/v1/ops/${failed.body.op_id}/wait?timeout_s=20`, { token: people.owner.token });
    const retry = await call('POST', `/v1/ops/${failed.body.op_id}/retry`, { token: people.collab.token });
    expect(retry).toMatchObject({
      status: 201,
      body: { parent_id: failed.body.op_id, status: expect.stringMatching(/^(queued|running)$/), created_by: people.collab.account_id },
    });
    expect((await call('POST', `/v1/ops/${id}/dismiss`, { token: people.owner.token })).status).toBe(200);
    const after = await call('GET', `/v1/ops?scope_type=project&scope_id=${projectId}`, { token: people.owner.token });
    expect(after.body.ops.map((o: { op_id: string }) => o.op_id)).not.toContain(id);
  });

  it('cancel of a running op answers at once with cancel_requested_at, then it ends canceled', async () => {
    const op = (await call('POST', '/v1/ops', { token: people.owner.token, body: projectOp({ hang: true, steps: 3, step_ms: 1 }) })).body;
    // The handler's own signal: its first step's progress, after which it hangs until canceled.
    let hanging!: () => void;
    const reached = new Promise<void>((resolve) => {
      hanging = resolve;
    });
    const events = readSse(`${base}/v1/ops/${op.op_id}/events`, {
      token: people.owner.token,
      onEvent: (e) => {
        if (e.event === 'progress' && e.data.message === 'step 1 of 3') hanging();
      },
    });
    await reached;
    const cancel = await call('POST', `/v1/ops/${op.op_id}/cancel`, { token: people.collab.token });
    expect(cancel.status).toBe(200);
    expect(['running', 'canceled']).toContain(cancel.body.status);
    const done = await call('GET', `/v1/ops/${op.op_id}/wait?timeout_s=20`, { token: people.owner.token });
    expect(done.body.status).toBe('canceled');
    const seen = await events;
    expect(seen.at(-1)).toMatchObject({ event: 'summary', data: { summary: { status: 'canceled' } } });
  });

  it("GET /v1/kinds publishes each kind's input JSON Schema; /healthz answers", async () => {
    const kinds = await call('GET', '/v1/kinds', { token: people.other.token });
    const demo = kinds.body.kinds.find((k: { name: string }) => k.name === 'demo');
    expect(demo.input_schema).toMatchObject({ type: 'object', properties: { steps: { type: 'integer' } } });
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});

describe('who sees what', () => {
  it('the auth matrix for read, list, cancel, retry and events', async () => {
    const op = (await call('POST', '/v1/ops', { token: people.owner.token, body: projectOp() })).body;
    await call('GET', `/v1/ops/${op.op_id}/wait?timeout_s=20`, { token: people.owner.token });
    const read = async (token?: string) => (await call('GET', `/v1/ops/${op.op_id}`, { token })).status;
    expect(await read(people.owner.token)).toBe(200);
    expect(await read(people.collab.token)).toBe(200);
    expect(await read(ADMIN_TOKEN)).toBe(200);
    expect(await read(people.other.token)).toBe(404);
    expect(await read(people.hostAdmin.token)).toBe(404);
    expect(await read(undefined)).toBe(401);
    expect(await read('lro_not-a-real-token')).toBe(401);
    const listed = async (token: string) =>
      (await call('GET', '/v1/ops?limit=500', { token })).body.ops.map((o: { op_id: string }) => o.op_id);
    expect(await listed(people.owner.token)).toContain(op.op_id);
    expect(await listed(people.other.token)).not.toContain(op.op_id);
    expect((await call('GET', `/v1/ops?scope_type=project&scope_id=${projectId}`, { token: people.other.token })).body.ops).toEqual([]);
    expect((await call('POST', `/v1/ops/${op.op_id}/cancel`, { token: people.other.token })).status).toBe(404);
    expect((await call('POST', `/v1/ops/${op.op_id}/retry`, { token: people.other.token })).status).toBe(404);
    expect((await fetch(`${base}/v1/ops/${op.op_id}/events?access_token=${people.other.token}`)).status).toBe(404);
    // Host scope: its admin and the admin; nobody else. Hub scope: only the admin creates.
    const hostOp = await call('POST', '/v1/ops', {
      token: people.hostAdmin.token,
      body: { kind: 'demo', scope: { type: 'host', id: hostId }, input: { steps: 1, step_ms: 0 } },
    });
    expect(hostOp.status).toBe(201);
    expect((await call('GET', `/v1/ops/${hostOp.body.op_id}`, { token: people.owner.token })).status).toBe(404);
    expect(
      (await call('POST', '/v1/ops', { token: people.owner.token, body: { kind: 'demo', scope: { type: 'host', id: hostId } } })).status,
    ).toBe(403);
    expect((await call('POST', '/v1/ops', { token: people.owner.token, body: hubOp('demo') })).status).toBe(403);
    expect((await call('POST', '/v1/ops', { token: ADMIN_TOKEN, body: hubOp('demo', { steps: 1, step_ms: 0 }) })).status).toBe(201);
    expect((await call('GET', `/v1/hosts/${hostId}`, { token: people.hostAdmin.token })).status).toBe(200);
    expect((await call('GET', `/v1/hosts/${hostId}`, { token: people.owner.token })).status).toBe(404);
    expect((await call('POST', '/v1/accounts', { token: people.owner.token, body: { name: 'x' } })).status).toBe(403);
  });
});

describe('SSE', () => {
  it('ends after the terminal summary; a client that reconnects with Last-Event-ID gets every later event once, in order', async () => {
    const op = (await call('POST', '/v1/ops', { token: people.owner.token, body: projectOp({ steps: 10, step_ms: 20 }) })).body;
    const url = `${base}/v1/ops/${op.op_id}/events`;
    const full = await readSse(url, { token: people.owner.token });
    expect(full.at(-1)).toMatchObject({ event: 'summary', data: { summary: { status: 'succeeded' } } });
    const ids = full.map((e) => Number(e.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    const cut = seededRandom('SSE reconnect cut point').int(1, full.length - 2);
    const firstPart = await readSse(url, { token: people.owner.token, stopAfter: cut });
    const rest = await readSse(url, { token: people.owner.token, lastEventId: firstPart.at(-1)!.id });
    expect([...firstPart, ...rest].map((e) => e.id)).toEqual(full.map((e) => e.id));
    const fromQuery = await readSse(`${url}?from_seq=3&access_token=${people.collab.token}`);
    expect(fromQuery[0]!.id).toBe('3');
  });

  it('a client that stops reading holds up no one', async () => {
    const op = (
      await call('POST', '/v1/ops', { token: people.owner.token, body: projectOp({ steps: 200, step_ms: 1, phases: ['a', 'b', 'c'] }) })
    ).body;
    // A raw connection that sends its request and never reads a byte of the answer.
    const { connect } = await import('node:net');
    const stalled = connect(Number(new URL(base).port), '127.0.0.1');
    stalled.pause();
    stalled.write(`GET /v1/ops/${op.op_id}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${people.owner.token}\r\n\r\n`);
    const others = await Promise.all(
      Array.from({ length: 5 }, () => readSse(`${base}/v1/ops/${op.op_id}/events`, { token: people.owner.token })),
    );
    for (const events of others) expect(events.at(-1)).toMatchObject({ data: { summary: { status: 'succeeded' } } });
    expect((await call('GET', '/healthz')).status).toBe(200);
    stalled.destroy();
  });

  it('200 concurrent clients on one op all finish with every event', async () => {
    const op = (await call('POST', '/v1/ops', { token: people.owner.token, body: projectOp({ steps: 5, step_ms: 30 }) })).body;
    const clients = await Promise.all(
      Array.from({ length: 200 }, () => readSse(`${base}/v1/ops/${op.op_id}/events`, { token: people.owner.token })),
    );
    const expected = clients[0]!.map((e) => e.id);
    expect(clients[0]!.at(-1)).toMatchObject({ data: { summary: { status: 'succeeded' } } });
    for (const c of clients) expect(c.map((e) => e.id)).toEqual(expected);
  });
});

describe('bad input', () => {
  const cases: [string, string, string, { raw?: string; body?: unknown; headers?: Record<string, string> }, number, string][] = [
    ['malformed JSON', 'POST', '/v1/ops', { raw: '{"kind": "demo",' }, 400, 'invalid_json'],
    ['wrong types', 'POST', '/v1/ops', { body: { kind: 42, scope: 'project' } }, 400, 'invalid_input'],
    ['unknown fields', 'POST', '/v1/ops', { body: { kind: 'demo', scope: { type: 'hub' }, colour: 'red' } }, 400, 'invalid_input'],
    ['unknown kind', 'POST', '/v1/ops', { body: { kind: 'nope', scope: { type: 'hub' } } }, 400, 'unknown_kind'],
    [
      'huge body',
      'POST',
      '/v1/ops',
      { body: { kind: 'demo', scope: { type: 'hub' }, input: { phases: ['x'.repeat(300_000)] } } },
      413,
      'payload_too_large',
    ],
    [
      'input over 64 KiB',
      'POST',
      '/v1/ops',
      { body: { kind: 'demo', scope: { type: 'hub' }, input: { phases: ['x'.repeat(70_000)] } } },
      413,
      'payload_too_large',
    ],
    ['injection in a filter', 'GET', "/v1/ops?status=queued'%3B%20DROP%20TABLE%20long_running_operations%3B--", {}, 400, 'invalid_input'],
    ['non-uuid id', 'GET', '/v1/ops/42', {}, 400, 'invalid_input'],
    ['non-uuid id in an action', 'POST', '/v1/ops/not-a-uuid/cancel', {}, 400, 'invalid_input'],
    ['wait past 300 s', 'GET', '/v1/ops/00000000-0000-4000-8000-000000000000/wait?timeout_s=301', {}, 400, 'invalid_input'],
    ['unknown route', 'GET', '/v1/nope', {}, 404, 'not_found'],
  ];
  it.each(cases)('%s → %i', async (_name, method, path, opts, status, code) => {
    const before = await rowCount();
    const res = await call(method, path, { token: ADMIN_TOKEN, ...opts });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toMatch(/\w/);
    expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |node_modules/);
    expect(await rowCount()).toBe(before);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});

describe('accounts and resources', () => {
  it('projects (collaborators only), hosts with their projects (host admin only), regions nearest first', async () => {
    const project = await call('GET', `/v1/projects/${projectId}`, { token: people.collab.token });
    expect(project).toMatchObject({ status: 200, body: { project_id: projectId, title: 'thesis', backup_fresh: false } });
    expect((await call('GET', `/v1/projects/${projectId}`, { token: people.other.token })).status).toBe(404);
    await backupInsert(lro.db, {
      project_id: projectId,
      snapshot_id: 'a1b2c3',
      region: 'local',
      tags: ['project', 'layout=v2'],
      bytes: 1024,
      op_id: null,
    });
    const backups = await call('GET', `/v1/projects/${projectId}/backups`, { token: people.collab.token });
    expect(backups.body.backups).toMatchObject([{ snapshot_id: 'a1b2c3', region: 'local', tags: ['project', 'layout=v2'] }]);
    expect((await call('GET', `/v1/projects/${projectId}/backups`, { token: people.other.token })).status).toBe(404);
    const onHost = await call('POST', '/v1/projects', { token: people.hostAdmin.token, body: { title: 'hosted', host_id: hostId } });
    const host = await call('GET', `/v1/hosts/${hostId}`, { token: people.hostAdmin.token });
    expect(host.body).toMatchObject({ host_id: hostId, region: 'eu-central', status: 'off' });
    expect(host.body.projects.map((p: { project_id: string }) => p.project_id)).toEqual([onHost.body.project_id]);
    const regions = await call('GET', '/v1/regions?lat=48.1&lon=11.6', { token: people.other.token }); // Munich
    expect(regions.body.regions[0]).toMatchObject({ region: 'eu-central' });
    expect(regions.body.regions.map((r: { distance_km: number }) => r.distance_km)).toEqual(
      [...regions.body.regions.map((r: { distance_km: number }) => r.distance_km)].sort((a, b) => a - b),
    );
    expect((await call('GET', '/v1/regions?lat=100&lon=0', { token: people.other.token })).status).toBe(400);
    expect((await call('GET', '/v1/regions?lat=10', { token: people.other.token })).body.error.message).toContain('give both lat and lon');
    expect(
      (
        await call('POST', '/v1/projects', {
          token: people.owner.token,
          body: { title: 'x', host_id: '00000000-0000-4000-8000-000000000000' },
        })
      ).status,
    ).toBe(403); // a missing host answers like a host the caller may not use (test/tenancy.test.ts)
  });
});
