import { describe, expect, it } from 'vitest';
import { LroError } from '../src/lro/errors.js';
import { hubOp, openTestLro } from './helpers/lro.js';

const { lro } = await openTestLro();
const { store } = lro;

async function rowCount(): Promise<number> {
  const { rows } = await lro.db.query('SELECT count(*)::int AS n FROM long_running_operations');
  return rows[0].n;
}

/** Asserts that `promise` rejects with an LroError of `code` whose message matches. */
async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp) {
  const err = await promise.then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(LroError);
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
}

describe('create and get', () => {
  it('creates a queued op with defaults from its kind and routing from its input', async () => {
    const hostId = '6f1c1d52-59a4-4f0e-9e3c-0d5d5c0e0a11';
    const { op, created } = await store.create(hubOp('demo', { host_id: hostId }), { createdBy: 'acct-1' });
    expect(created).toBe(true);
    expect(op).toMatchObject({
      kind: 'demo',
      status: 'queued',
      routing: `host:${hostId}`,
      attempt: 0,
      max_attempts: 3,
      created_by: 'acct-1',
      scope_type: 'hub',
      scope_id: 'hub',
    });
    expect(op.input).toMatchObject({ phases: ['prepare', 'work', 'finish'], steps: 10 });
    expect(await store.get(op.op_id)).toMatchObject({ op_id: op.op_id, status: 'queued' });
  });

  it('a missing op is not_found', async () => {
    await rejectsWith(store.get('00000000-0000-4000-8000-000000000000'), 'not_found', /not found/);
  });
});

describe('bad input writes nothing', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['unknown kind', hubOp('nope'), 'unknown_kind', /unknown kind "nope"; known kinds: demo, probe/],
    ['input failing its schema', hubOp('demo', { steps: 'ten' }), 'invalid_input', /input for kind demo is invalid[\s\S]*steps/],
    ['unknown input field', hubOp('demo', { stepz: 1 }), 'invalid_input', /stepz/],
    ['input over 64 KiB', hubOp('demo', { phases: ['x'.repeat(70_000)] }), 'payload_too_large', /input is \d+ bytes; the limit is 65536/],
    ['malformed scope id', { kind: 'demo', scope: { type: 'project', id: 'p1' } }, 'invalid_input', /scope id must be a uuid/],
    ['unknown scope type', { kind: 'demo', scope: { type: 'galaxy', id: 'x' } }, 'invalid_input', /scope/],
    ['unknown request field', { ...hubOp('demo'), colour: 'red' }, 'invalid_input', /colour/],
    ['negative ttl', hubOp('demo', {}, { ttl_s: -1 }), 'invalid_input', /ttl_s/],
  ];
  it.each(cases)('%s', async (_name, request, code, message) => {
    const before = await rowCount();
    await rejectsWith(store.create(request), code, message);
    expect(await rowCount()).toBe(before);
  });

  it('input that is not JSON-serialisable', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await rejectsWith(store.create(hubOp('demo', circular)), 'invalid_input', /not JSON-serialisable/);
  });

  it.each(['get', 'cancel', 'retry', 'dismiss'] as const)('malformed id to %s', async (method) => {
    await rejectsWith(store[method]("1'; DROP TABLE long_running_operations; --"), 'invalid_input', /op_id is invalid[\s\S]*uuid/);
  });

  it('bad list queries', async () => {
    await rejectsWith(store.list({ status: 'sleeping' }), 'invalid_input', /status/);
    await rejectsWith(store.list({ limit: 5000 }), 'invalid_input', /limit/);
    await rejectsWith(store.list({ cursor: 'garbage' }), 'invalid_input', /cursor is invalid/);
  });
});

describe('dedupe', () => {
  it('20 concurrent creates with one key give one op; the key is free once it ends', async () => {
    const request = hubOp('demo', {}, { dedupe_key: 'backup-nightly' });
    const results = await Promise.all(Array.from({ length: 20 }, () => store.create(request)));
    const ids = new Set(results.map((r) => r.op.op_id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const [id] = ids;
    await store.cancel(id);
    const again = await store.create(request);
    expect(again.created).toBe(true);
    expect(again.op.op_id).not.toBe(id);
  });
});

describe('cancel, retry, dismiss', () => {
  it('cancels a queued op at once; canceling again returns it; retry makes a child', async () => {
    const { op } = await store.create(hubOp('demo'));
    const canceled = await store.cancel(op.op_id);
    expect(canceled).toMatchObject({ status: 'canceled', error: { code: 'canceled' } });
    expect(canceled.finished_at).toBeInstanceOf(Date);
    expect((await store.cancel(op.op_id)).status).toBe('canceled');
    const { op: child, created } = await store.retry(op.op_id);
    expect(created).toBe(true);
    expect(child).toMatchObject({ status: 'queued', parent_id: op.op_id, kind: 'demo', input: op.input });
  });

  it('refuses to retry an active op and to dismiss an unfinished one', async () => {
    const { op } = await store.create(hubOp('demo'));
    await rejectsWith(store.retry(op.op_id), 'conflict', /is queued; only failed, canceled or expired ops can be retried/);
    await rejectsWith(store.dismiss(op.op_id), 'conflict', /only finished ops can be dismissed/);
  });

  it('dismiss hides a finished op from lists', async () => {
    const { op } = await store.create(hubOp('demo', {}, { dedupe_key: 'to-dismiss' }));
    await store.cancel(op.op_id);
    await store.dismiss(op.op_id);
    const { ops } = await store.list({ limit: 500 });
    expect(ops.map((o) => o.op_id)).not.toContain(op.op_id);
    const all = await store.list({ limit: 500, include_dismissed: 'true' });
    expect(all.ops.map((o) => o.op_id)).toContain(op.op_id);
  });
});

describe('list', () => {
  it('pages newest first with a stable cursor, filtering by scope, kind and status', async () => {
    const project = { type: 'project' as const, id: '0b8e7f33-3a0e-4f57-8d2c-2f9f0f9a1b01' };
    const ids = await store.createMany(Array.from({ length: 25 }, () => ({ kind: 'demo', scope: project })));
    await store.create({ kind: 'probe', scope: project });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({
        scope_type: 'project',
        scope_id: project.id,
        kind: 'demo',
        status: 'queued',
        limit: 10,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.ops.map((o) => o.op_id));
      // A new op arriving mid-paging does not shift the pages behind the cursor.
      if (!cursor) await store.create({ kind: 'demo', scope: project });
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(25);
    expect(new Set(seen)).toEqual(new Set(ids));
  });
});

describe('expiry', () => {
  it('a queued op past expires_at becomes expired in one maintenance pass', async () => {
    const { op } = await store.create(hubOp('demo', {}, { ttl_s: 60 }));
    const maintainer = lro.maintainer();
    const early = await maintainer.runOnce({ now: new Date(Date.now() + 30_000) });
    expect(early?.expired).not.toContain(op.op_id);
    const report = await maintainer.runOnce({ now: new Date(Date.now() + 61_000) });
    expect(report?.expired).toContain(op.op_id);
    expect(await store.get(op.op_id)).toMatchObject({ status: 'expired', error: { code: 'expired' } });
    await rejectsWith(store.dismiss('00000000-0000-4000-8000-000000000000'), 'not_found', /not found/);
  });
});
