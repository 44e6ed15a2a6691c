import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildHub } from '../src/api/app.js';
import { LroApiError, LroClient, type WatchEvent } from '../src/client/client.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';
import { openTestLro } from './helpers/lro.js';

const { lro } = await openTestLro();
await lro.workerPool({ concurrency: 4, summaryIntervalS: 0.2 }).start();
const { base, call } = await startHub(lro);
const owner = (await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name: 'owner' } })).body;
const project = (await call('POST', '/v1/projects', { token: owner.token, body: { title: 'p' } })).body;
const client = new LroClient({ baseUrl: base, token: owner.token });
const scope = { type: 'project' as const, id: project.project_id };

describe('LroClient', () => {
  it('create, get, list, wait, cancel, retry, dismiss', async () => {
    const { op, created } = await client.create({ kind: 'demo', scope, input: { steps: 1, step_ms: 1 } });
    expect(created).toBe(true);
    expect((await client.get(op.op_id)).op_id).toBe(op.op_id);
    expect((await client.wait(op.op_id, 20)).status).toBe('succeeded');
    expect((await client.list({ scope_type: 'project', scope_id: scope.id })).ops.map((o) => o.op_id)).toContain(op.op_id);
    const err = await client.cancel(op.op_id).catch((e) => e);
    expect(err).toBeInstanceOf(LroApiError);
    expect(err).toMatchObject({ status: 409, code: 'conflict' });
    const hanging = (await client.create({ kind: 'demo', scope, input: { hang: true, steps: 2, step_ms: 1 } })).op;
    await client.cancel(hanging.op_id);
    expect((await client.wait(hanging.op_id, 20)).status).toBe('canceled');
    expect((await client.retry(hanging.op_id)).parent_id).toBe(hanging.op_id);
    expect((await client.dismiss(op.op_id)).dismissed_at).not.toBeNull();
    expect((await client.kinds()).kinds.map((k) => k.name)).toContain('demo');
  });

  it('watch reconnects to a restarted hub and resumes: every event once, in order', async () => {
    // A hub of its own that this test stops and starts again on the same port.
    const first = buildHub({ lro, adminToken: ADMIN_TOKEN, logger: false });
    await first.listen({ host: '127.0.0.1', port: 0 });
    const port = (first.server.address() as AddressInfo).port;
    const watcher = new LroClient({ baseUrl: `http://127.0.0.1:${port}`, token: owner.token });
    const { op } = await watcher.create({ kind: 'demo', scope, input: { steps: 15, step_ms: 30 } });
    const seen: WatchEvent[] = [];
    let restarted = false;
    let second: ReturnType<typeof buildHub> | undefined;
    for await (const event of watcher.watch(op.op_id)) {
      seen.push(event);
      if (!restarted && seen.length === 5) {
        restarted = true;
        await first.close();
        second = buildHub({ lro, adminToken: ADMIN_TOKEN, logger: false });
        await second.listen({ host: '127.0.0.1', port });
      }
    }
    await second?.close();
    expect(restarted).toBe(true);
    expect(seen.at(-1)).toMatchObject({ event: 'summary', data: { summary: { status: 'succeeded' } } });
    const ids = seen.map((e) => e.id);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
  });
});
