/**
 * Integrity under races (issue 8, items 11 and 12), on real Postgres sessions meeting at a row lock:
 * one session holds the op's row in an open transaction, the other statement is seen waiting on it
 * in pg_stat_activity (never a sleep), then the first commits.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ConflictError } from '../src/lro/errors.js';
import type { Lro } from '../src/app/lro.js';
import * as sql from '../src/lro/sql/operations.js';
import type { Operation } from '../src/shared/operation.js';
import type { WorkerPool } from '../src/workers/pool.js';
import { hubOp, openTestLro } from './helpers/lro.js';
import { testKinds } from './helpers/kinds.js';
import { chattyKind, chattyGate } from './fixtures/chatty-kind.js';

const { lro, url } = await openTestLro({ kinds: testKinds().register(chattyKind) });
const CANCELED = { code: 'canceled', message: 'canceled by request' };
// Ended before the file's database is dropped (a hook added inside a test would never run).
const holders: pg.Client[] = [];
afterAll(() => Promise.all(holders.splice(0).map((c) => c.end())));

/** A session of its own that holds the op's row lock in an open transaction. */
async function holder(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'lro-test-holder' });
  await client.connect();
  holders.push(client);
  await client.query('BEGIN');
  return client;
}

/** Resolves once some session of this database waits on a lock (the statement under test blocked). */
async function someoneWaitsOnLock(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await lro.db.query(`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    if (rows[0].n > 0) return;
    if (Date.now() > deadline) throw new Error('no statement ever waited on the row lock');
    await new Promise((r) => setImmediate(r)); // a poll with a deadline, not a sleep standing in for the event
  }
}

/** Runs `statement`, checks that it blocks on the held row, commits the holder, and returns its outcome. */
async function afterCommit<T>(held: pg.Client, statement: () => Promise<T>): Promise<PromiseSettledResult<T>> {
  const settled = statement().then(
    (value) => ({ status: 'fulfilled' as const, value }),
    (reason) => ({ status: 'rejected' as const, reason }),
  );
  await someoneWaitsOnLock();
  await held.query('COMMIT');
  return settled;
}

const claim = (kinds = ['probe']) =>
  sql.operationClaim(lro.db, { routings: ['hub'], kinds, limit: 10, worker_id: 'w-test', owner_type: 'hub' });

/** A probe op claimed by this test: running, attempt 1, with its epoch. */
async function runningOp(extra: object = {}): Promise<Operation> {
  const { op } = await lro.store.create(hubOp('probe', {}, { priority: 1000, ...extra }));
  const claimed = await claim();
  expect(claimed.map((o) => o.op_id)).toEqual([op.op_id]);
  return claimed[0]!;
}

const cancelIn = (db: sql.Db, op: Operation) => sql.operationCancel(db, { op_id: op.op_id, error: CANCELED });
const failure = (op: Operation) => ({
  op_id: op.op_id,
  epoch: op.lease_epoch,
  error: { code: 'boom', message: 'retryable failure' },
  retryable: true,
  backoff_ms: 0,
});

/** The op ended canceled on its first attempt and no worker can claim it again. */
async function endedCanceled(op: Operation, attempt = 1): Promise<Operation> {
  expect((await claim()).map((o) => o.op_id)).not.toContain(op.op_id);
  const row = await lro.store.get(op.op_id);
  expect(row).toMatchObject({ status: 'canceled', attempt });
  expect(row.cancel_requested_at).toBeInstanceOf(Date);
  return row;
}

describe('an accepted cancel is never lost (two sessions meet at the row lock)', () => {
  it('fail waits on a cancel: the op ends canceled, not requeued for attempt 2', async () => {
    const op = await runningOp();
    const h = await holder();
    expect(await cancelIn(h, op)).toMatchObject({ status: 'running' }); // the caller's 200: cancel accepted
    const failed = await afterCommit(h, () => sql.operationFail(lro.db, failure(op)));
    expect(failed).toMatchObject({ status: 'fulfilled', value: { status: 'canceled', attempt: 1 } });
    const row = await endedCanceled(op);
    expect(row.last_error).toMatchObject({ code: 'boom' });
  });

  it('cancel waits on a retryable fail: the requeued op is canceled before anyone claims it', async () => {
    const op = await runningOp();
    const h = await holder();
    expect(await sql.operationFail(h, failure(op))).toMatchObject({ status: 'queued' });
    const canceled = await afterCommit(h, () => lro.store.cancel(op.op_id));
    expect(canceled).toMatchObject({ status: 'fulfilled', value: { status: 'canceled', error: CANCELED } });
    await endedCanceled(op);
  });

  it('heartbeat waits on a cancel: it returns the cancel request it raced with', async () => {
    const op = await runningOp();
    const h = await holder();
    await cancelIn(h, op);
    const beat = await afterCommit(h, () =>
      sql.operationHeartbeat(lro.db, { leases: [{ op_id: op.op_id, epoch: op.lease_epoch, summary: null }] }),
    );
    expect(beat.status).toBe('fulfilled');
    const rows = (beat as PromiseFulfilledResult<{ op_id: string; cancel_requested_at: Date | null }[]>).value;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.cancel_requested_at).toBeInstanceOf(Date);
    await sql.operationFinishCanceled(lro.db, { op_id: op.op_id, epoch: op.lease_epoch, error: CANCELED });
    await endedCanceled(op);
  });

  it('rescue meets a cancel: skips the row while the cancel holds it, then cancels it; never requeues it', async () => {
    const op = await runningOp();
    const late = new Date(op.heartbeat_at!.getTime() + op.lease_s * 1000 + 1);
    const h = await holder();
    await cancelIn(h, op);
    // SKIP LOCKED: rescue does not wait, it leaves the row to the next pass.
    expect((await sql.operationRescue(lro.db, { now: late, limit: 100 })).map((o) => o.op_id)).not.toContain(op.op_id);
    await h.query('COMMIT');
    const rescued = await sql.operationRescue(lro.db, { now: late, limit: 100 });
    expect(rescued.find((o) => o.op_id === op.op_id)).toMatchObject({ status: 'canceled', error: CANCELED });
    await endedCanceled(op);
  });

  it('cancel waits on a rescue that requeued the op: it ends canceled, never claimed again', async () => {
    const op = await runningOp();
    const late = new Date(op.heartbeat_at!.getTime() + op.lease_s * 1000 + 1);
    const h = await holder();
    const rescued = await sql.operationRescue(h, { now: late, limit: 100 });
    expect(rescued.find((o) => o.op_id === op.op_id)).toMatchObject({ status: 'queued' });
    const canceled = await afterCommit(h, () => lro.store.cancel(op.op_id));
    expect(canceled).toMatchObject({ status: 'fulfilled', value: { status: 'canceled' } });
    await endedCanceled(op);
  });

  it('claim meets the cancel of a queued op: the claim skips it, and it never runs', async () => {
    const { op } = await lro.store.create(hubOp('probe', {}, { priority: 1000 }));
    const h = await holder();
    expect(await cancelIn(h, op)).toMatchObject({ status: 'canceled' });
    expect((await claim()).map((o) => o.op_id)).not.toContain(op.op_id); // SKIP LOCKED: no wait
    await h.query('COMMIT');
    const row = await endedCanceled(op, 0);
    expect(row.started_at).toBeNull();
  });

  it('cancel waits on a claim: the op runs, and the cancel reaches its worker on the next beat', async () => {
    const { op } = await lro.store.create(hubOp('probe', {}, { priority: 1000 }));
    const h = await holder();
    const [claimed] = await sql.operationClaim(h, {
      routings: ['hub'],
      kinds: ['probe'],
      limit: 1,
      worker_id: 'w-test',
      owner_type: 'hub',
    });
    expect(claimed).toMatchObject({ op_id: op.op_id, status: 'running' });
    const canceled = await afterCommit(h, () => lro.store.cancel(op.op_id));
    expect(canceled).toMatchObject({ status: 'fulfilled', value: { status: 'running' } });
    expect((canceled as PromiseFulfilledResult<Operation>).value.cancel_requested_at).toBeInstanceOf(Date);
    const [beat] = await sql.operationHeartbeat(lro.db, { leases: [{ op_id: op.op_id, epoch: claimed!.lease_epoch, summary: null }] });
    expect(beat!.cancel_requested_at).toBeInstanceOf(Date);
    await sql.operationFinishCanceled(lro.db, { op_id: op.op_id, epoch: claimed!.lease_epoch, error: CANCELED });
    await endedCanceled(op);
  });

  it('cancel waits on a completion: the op succeeded, and the cancel caller gets 409 conflict', async () => {
    const op = await runningOp();
    const h = await holder();
    await sql.operationCompleteMany(h, {
      done: [{ op_id: op.op_id, epoch: op.lease_epoch, result: { pid: 1, attempt: 1 }, summary: null }],
    });
    const canceled = await afterCommit(h, () => lro.store.cancel(op.op_id));
    expect(canceled.status).toBe('rejected');
    const err = (canceled as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.message).toMatch(/already succeeded/);
    expect(await lro.store.get(op.op_id)).toMatchObject({ status: 'succeeded', result: { pid: 1, attempt: 1 }, cancel_requested_at: null });
  });

  it('completion waits on an accepted cancel: the op ends canceled (the cancel caller had its 200)', async () => {
    const op = await runningOp();
    const h = await holder();
    expect(await cancelIn(h, op)).toMatchObject({ status: 'running' });
    const done = await afterCommit(h, () =>
      sql.operationCompleteMany(lro.db, {
        done: [{ op_id: op.op_id, epoch: op.lease_epoch, result: { pid: 1, attempt: 1 }, summary: null }],
      }),
    );
    expect(done).toMatchObject({ status: 'fulfilled', value: [{ op_id: op.op_id, status: 'canceled', result: null }] });
    const row = await endedCanceled(op);
    expect(row.error).toMatchObject({ code: 'canceled', message: expect.stringMatching(/finished after the cancel was accepted/) });
  });

  it('a lease given back on shutdown after an accepted cancel ends canceled, also when it waited on the cancel', async () => {
    const op = await runningOp();
    const h = await holder();
    await cancelIn(h, op);
    const released = await afterCommit(h, () => sql.operationRelease(lro.db, { leases: [{ op_id: op.op_id, epoch: op.lease_epoch }] }));
    expect(released).toMatchObject({ status: 'fulfilled', value: [{ status: 'canceled', error: CANCELED }] });
    await endedCanceled(op);
  });
});

describe('progress is fenced by the lease epoch (end to end)', () => {
  // A test that fails half-way must not leave its pools claiming the next test's ops.
  const pools: WorkerPool[] = [];
  afterEach(() => Promise.all(pools.splice(0).map((p) => p.stop({ gracefulMs: 0 }))));

  it.each(['pg', 'nats'] as const)(
    '%s: a worker whose lease was taken over cannot add to the stream; its handler is not disturbed',
    async (adapter) => {
      const engine = adapter === 'pg' ? lro : await natsLro();
      const errors: unknown[] = [];
      const first = engine.workerPool({ concurrency: 1, serves: ['chatty'], heartbeatS: 3600, summaryIntervalS: 3600, workerId: 'w-old' });
      pools.push(first);
      first.on('error', (err) => errors.push(err));
      await first.start();
      const gate = chattyGate();
      const { op } = await engine.store.create(hubOp('chatty', {}));
      await gate.started;
      await onStream(engine, op, 'old owner started'); // stored under epoch 1, before anything below

      // The old owner stops heartbeating (as if cut off): rescued with a pinned clock, taken by a new worker.
      const running = await engine.store.get(op.op_id);
      const late = new Date(running.heartbeat_at!.getTime() + running.lease_s * 1000 + 1);
      const report = await engine.maintainer().runOnce({ now: late });
      expect(report?.rescued).toContainEqual({ op_id: op.op_id, status: 'queued' });
      const second = engine.workerPool({ concurrency: 1, serves: ['chatty'], workerId: 'w-new', pollMs: 100 });
      pools.push(second);
      await second.start();
      const done = await engine.wait(op.op_id, 20_000);
      expect(done).toMatchObject({ status: 'succeeded', attempt: 2, owner_id: 'w-new' });

      // Now the old owner publishes 25 events and returns; nothing of it may reach the stream.
      const idle = new Promise<void>((r) => first.once('idle', () => r()));
      gate.release();
      expect(await gate.finished).toEqual({ pushed: 25, threw: false });
      await idle;
      await Promise.all([first.stop(), second.stop()]);

      const { events } = await engine.streams.backend.history({ storage: 'persist.hub', name: `lro.${op.op_id}` }, 1, 1000);
      const lines = events.map((e) => (e.type === 'summary' ? `summary ${e.summary.status} ${e.summary.attempt}` : e.message));
      const takeover = lines.indexOf('summary running 2');
      expect(takeover).toBeGreaterThan(0);
      expect(lines.slice(takeover).filter((l) => /old owner/.test(String(l)))).toEqual([]);
      expect(lines.filter((l) => /late/.test(String(l)))).toEqual([]);
      expect(lines).toContain('old owner started');
      expect(lines.at(-1)).toBe('summary succeeded 2');
      expect(lines.filter((l) => /new owner step/.test(String(l)))).toHaveLength(5);
      // Told once, not once per event.
      expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['lease_lost']);
      expect(String((errors[0] as Error).message)).toMatch(/epoch 1 is older than epoch 3/);
      expect(await engine.store.get(op.op_id)).toMatchObject({ status: 'succeeded', result: { epoch: 3 } });
    },
  );
});

/** Resolves once an event with `message` is on the op's stream (read as it comes, not polled). */
async function onStream(engine: Lro, op: Operation, message: string): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 10_000);
  try {
    for await (const item of engine.streams.read({ storage: 'persist.hub', name: `lro.${op.op_id}` }, { signal: ac.signal })) {
      if (item.type === 'progress' && item.message === message) return;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`"${message}" never reached the stream`);
}

async function natsLro(): Promise<Lro> {
  const { openNatsStreams } = await import('../src/lro/streams/index.js');
  const streams = await openNatsStreams(process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
  return (await openTestLro({ connectionString: url, streams, kinds: testKinds().register(chattyKind) })).lro;
}
