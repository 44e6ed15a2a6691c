import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../src/lro/errors.js';
import { ManualClock } from '../src/lro/clock.js';
import { workerOps } from '../src/workers/ops.js';
import type { WorkerPool } from '../src/workers/pool.js';
import type { Lro } from '../src/app/lro.js';
import { remoteOf } from './fixtures/remote-kind.js';
import { hubOp, openTestLro } from './helpers/lro.js';

const { lro, url } = await openTestLro();
const { store } = lro;

// A test that fails half-way must not leave its pool claiming the next test's ops.
const started: WorkerPool[] = [];
async function startPool(owner: Lro, opts: Parameters<Lro['workerPool']>[0]) {
  const pool = owner.workerPool(opts);
  started.push(pool);
  await pool.start();
  return pool;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop({ gracefulMs: 0 })));
});

/**
 * Creates a `remote` op and resolves once its handler runs and a heartbeat stored its first progress
 * (signals: the handler's own start, then the beat the test runs).
 */
async function runningWithProgress(pool: WorkerPool) {
  const { op } = await store.create(hubOp('remote'));
  const remote = await remoteOf(op.op_id);
  remote.ctx.progress({ phase: 'work', progress: { current: 1, total: 2 } });
  await pool.heartbeatOnce();
  expect(await store.get(op.op_id)).toMatchObject({ status: 'running', progress_summary: { phase: 'work' } });
  return { op, ...remote };
}

describe('worker pool', () => {
  it('runs an op and records progress, result and timestamps', async () => {
    const pool = await startPool(lro, { concurrency: 4, heartbeatS: 1, summaryIntervalS: 1 });
    const { op } = await store.create(hubOp('demo', { steps: 3, step_ms: 1 }));
    const done = await lro.wait(op.op_id, 10_000);
    expect(done).toMatchObject({ status: 'succeeded', result: { steps_done: 9 }, attempt: 1, owner_id: pool.workerId });
    expect(done.progress_summary).toMatchObject({ percent: 100, phase: 'finish' });
    expect(done.started_at!.getTime()).toBeLessThanOrEqual(done.finished_at!.getTime());
    await pool.stop();
  });

  it('cancels a running op: the handler is aborted and the op ends canceled', async () => {
    const pool = await startPool(lro, { concurrency: 2, heartbeatS: 1 });
    const { op } = await runningWithProgress(pool);
    const requested = await store.cancel(op.op_id);
    expect(requested.status).toBe('running');
    expect(requested.cancel_requested_at).toBeInstanceOf(Date);
    const done = await lro.wait(op.op_id, 5_000);
    expect(done).toMatchObject({ status: 'canceled', error: { code: 'canceled' } });
    if (pool.running > 0) await once(pool, 'idle'); // the handler's finally runs after the row turned
    expect(pool.running).toBe(0);
    await expect(store.cancel(op.op_id)).resolves.toMatchObject({ status: 'canceled' });
    await pool.stop();
  });

  it('cancel reaches the handler through the heartbeat alone', async () => {
    const { lro: workerSide } = await openTestLro({ connectionString: url });
    const pool = await startPool(workerSide, { concurrency: 1, heartbeatS: 60 });
    const { op, ctx } = await runningWithProgress(pool);
    // The worker's notifications stop (as if lost): only a heartbeat can tell it about the cancel.
    await workerSide.listener.stop();
    await store.cancel(op.op_id);
    expect((await store.get(op.op_id)).status).toBe('running');
    expect(ctx.signal.aborted).toBe(false);
    await pool.heartbeatOnce();
    expect(ctx.signal.aborted).toBe(true);
    expect(await lro.wait(op.op_id, 10_000)).toMatchObject({ status: 'canceled' }); // this side still listens
    await pool.stop();
  });

  it("retries with backoff, then fails with the last attempt's error after max_attempts", async () => {
    // The backoff passes on a clock the test moves (claims compare run_at with it), not by rewriting run_at.
    const clock = new ManualClock();
    const { lro: timed } = await openTestLro({ connectionString: url, clock });
    const pool = await startPool(timed, { concurrency: 2, pollMs: 3_600_000 });
    let idle = once(pool, 'idle');
    const { op } = await timed.store.create(hubOp('demo', { steps: 2, step_ms: 0, fail_at_step: 2 }, { max_attempts: 3 }));
    // Attempt 1 fails at once and is queued again with run_at pushed out by the backoff.
    await idle;
    const afterFirst = await store.get(op.op_id);
    expect(afterFirst).toMatchObject({ attempt: 1, status: 'queued' });
    expect(afterFirst.last_error).toMatchObject({ code: 'demo_failure', message: 'demo failure at step 2', attempt: 1 });
    expect(afterFirst.error).toBeNull();
    expect(afterFirst.run_at.getTime() - afterFirst.updated_at.getTime()).toBeGreaterThanOrEqual(500); // ≥ base/2
    idle = once(pool, 'idle');
    clock.set(afterFirst.run_at);
    await pool.claimOnce();
    await idle;
    const afterSecond = await store.get(op.op_id);
    expect(afterSecond).toMatchObject({ attempt: 2, status: 'queued' });
    expect(afterSecond.run_at.getTime() - afterSecond.updated_at.getTime()).toBeGreaterThanOrEqual(1000); // ≥ 2·base/2
    clock.set(afterSecond.run_at);
    await pool.claimOnce();
    const done = await lro.wait(op.op_id, 10_000);
    expect(done).toMatchObject({ status: 'failed', attempt: 3, error: { code: 'demo_failure', attempt: 3 } });
    expect(done.last_error).toEqual(done.error);
    expect(done.progress_summary).toMatchObject({ phase: 'prepare' }); // the progress it reached, kept with the failure
    await pool.stop();
  });

  it('a permanent error fails at once, without retries', async () => {
    const pool = await startPool(lro, { concurrency: 1 });
    const { op } = await store.create(hubOp('demo', { steps: 1, step_ms: 0, fail_at_step: 1, permanent: true }));
    expect(await lro.wait(op.op_id, 10_000)).toMatchObject({ status: 'failed', attempt: 1 });
    await pool.stop();
  });

  it('fencing: writes under a stale epoch are refused', async () => {
    const pool = await startPool(lro, { concurrency: 1 });
    const { op } = await store.create(hubOp('demo', { steps: 1, step_ms: 0 }));
    const done = await lro.wait(op.op_id, 10_000);
    await pool.stop();
    const ops = workerOps(lro.db);
    const stale = { op_id: op.op_id, epoch: done.lease_epoch - 1 };
    await expect(ops.fail({ ...stale, error: { code: 'x', message: 'x' }, retryable: true, backoff_ms: 0 })).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    expect(await ops.completeMany({ done: [{ ...stale, result: { steps_done: 0 }, summary: null }] })).toEqual([]);
    expect(await ops.heartbeat({ leases: [{ ...stale, summary: { phase: 'x' } }] })).toEqual([]);
    expect(await store.get(op.op_id)).toMatchObject({ status: 'succeeded', result: done.result, progress_summary: done.progress_summary });
  });

  it('wait returns the op as it stands when the timeout ends', async () => {
    const { op } = await store.create(hubOp('demo'));
    const started = Date.now();
    const got = await lro.wait(op.op_id, 200);
    expect(got.status).toBe('queued');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await store.cancel(op.op_id);
  });

  it('start and stop are idempotent; a pool that was built but not started claims nothing', async () => {
    const pool = lro.workerPool({ concurrency: 1 });
    started.push(pool);
    const { op } = await store.create(hubOp('remote'));
    await pool.claimOnce();
    expect(await store.get(op.op_id)).toMatchObject({ status: 'queued', attempt: 0 });
    await Promise.all([pool.start(), pool.start()]);
    const { ctx } = await remoteOf(op.op_id);
    expect(pool.running).toBe(1);
    await Promise.all([pool.stop({ gracefulMs: 0 }), pool.stop({ gracefulMs: 0 })]);
    await pool.stop();
    expect(pool.started).toBe(false);
    expect(ctx.signal.reason).toMatchObject({ code: 'shutdown' });
    expect(await store.get(op.op_id)).toMatchObject({ status: 'queued', attempt: 0 });
    await store.cancel(op.op_id);
  });

  it('graceful stop lets a running op finish; forced stop gives the lease back', async () => {
    const pool = await startPool(lro, { concurrency: 2 });
    const quick = await runningWithProgress(pool);
    const stuck = await runningWithProgress(pool);
    const stopping = pool.stop({ gracefulMs: 60_000 });
    expect(pool.started).toBe(false); // no more claims
    quick.finish(); // within the graceful period
    expect(await lro.wait(quick.op.op_id, 10_000)).toMatchObject({ status: 'succeeded' });
    expect(stuck.ctx.signal.aborted).toBe(false); // still let be
    await pool.stop({ gracefulMs: 0 }); // a second stop ends the graceful period now
    await stopping;
    expect(stuck.ctx.signal.reason).toMatchObject({ code: 'shutdown' });
    expect(await store.get(stuck.op.op_id)).toMatchObject({ status: 'queued', attempt: 0, owner_id: null });
    await store.cancel(stuck.op.op_id);
  });
});

describe('kind timeout', () => {
  it("an attempt that runs past its kind's timeout is aborted and counted as failed", async () => {
    const { testKinds } = await import('./helpers/kinds.js');
    const { demoKind } = await import('../src/workers/kinds/demo.js');
    const kinds = testKinds().register({ ...demoKind, name: 'slowpoke', timeoutS: 0.2, maxAttempts: 1 });
    const { lro: timed } = await openTestLro({ connectionString: url, kinds });
    const pool = await startPool(timed, { concurrency: 1, serves: ['slowpoke'] });
    const { op } = await timed.store.create(hubOp('slowpoke', { steps: 1, step_ms: 60_000 }));
    const done = await timed.wait(op.op_id, 10_000);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'timeout', message: 'attempt ran longer than 0.2 s' } });
    await pool.stop();
  });
});
