import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/lro/clock.js';
import type { StreamItem } from '../src/lro/streams/index.js';
import { streamOf } from '../src/lro/streams/types.js';
import type { Operation } from '../src/shared/operation.js';
import { remoteOf } from './fixtures/remote-kind.js';
import { hubOp, openTestLro } from './helpers/lro.js';

/** Stall, ETA and backoff on a clock the test moves: nothing here sleeps or rewrites `run_at`. */
const clock = new ManualClock(new Date('2031-03-01T00:00:00Z'));
const { lro } = await openTestLro({ clock });

/** No timer of the pool's decides anything here: beats, stalls and claims happen when the test says. */
const quiet = { concurrency: 1, heartbeatS: 3600, summaryIntervalS: 3600, pollMs: 3_600_000 };

const phases = (op: Operation) => (op.progress_summary as { phases: { phase: string; speed?: number; eta_s?: number }[] }).phases;

/** The first summary event on the op's stream that `match`es. */
async function summaryOnStream(op: Operation, match: (s: Record<string, unknown>) => boolean) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 15_000);
  try {
    for await (const item of lro.streams.read(streamOf(op), { signal: ac.signal }) as AsyncGenerator<StreamItem>) {
      if (item.type === 'summary' && match(item.summary)) return item.summary;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`no matching summary on the stream of op ${op.op_id}`);
}

/** A started pool (stall after `stallS`) running a new `remote` op, with its handler in the test's hands. */
async function remoteRunning(stallS: number) {
  const pool = lro.workerPool({ ...quiet, stallS });
  await pool.start();
  const { op } = await lro.store.create(hubOp('remote'));
  return { pool, op, ...(await remoteOf(op.op_id)) };
}

describe('the injected clock', () => {
  it('speed and ETA come from the clock: 10 of 100 in 10 s is 1/s and 90 s left', async () => {
    const { pool, op, ctx, finish } = await remoteRunning(60);
    ctx.progress({ phase: 'copy', progress: { current: 0, total: 100 } });
    clock.advance(10_000);
    ctx.progress({ phase: 'copy', progress: { current: 10, total: 100 } });
    await pool.heartbeatOnce();
    const running = await lro.store.get(op.op_id);
    expect(running.heartbeat_at!.getTime()).toBe(clock.now()); // the beat ran at the clock's time
    expect(phases(running)).toEqual([expect.objectContaining({ phase: 'copy', speed: 1, eta_s: 90 })]);
    clock.advance(15_000); // half a lease: the beat above renewed it
    ctx.progress({ phase: 'copy', progress: { current: 25, total: 100 } });
    await pool.heartbeatOnce();
    expect(phases(await lro.store.get(op.op_id))[0]).toMatchObject({ speed: 1, eta_s: 75 });
    finish();
    const done = await lro.wait(op.op_id, 10_000);
    expect(done).toMatchObject({ status: 'succeeded', result: { ok: true } });
    expect(done.finished_at!.getTime()).toBe(clock.now());
    await pool.stop();
  });

  it('an op that goes silent for stall_s is stalled on its row and stream; progress clears it', async () => {
    const { pool, op, ctx, finish } = await remoteRunning(5);
    ctx.progress({ phase: 'copy', progress: { current: 1, total: 10 } });
    clock.advance(4_999);
    await pool.heartbeatOnce();
    expect((await lro.store.get(op.op_id)).progress_summary).toMatchObject({ stalled: false });
    clock.advance(1);
    await pool.heartbeatOnce();
    expect((await lro.store.get(op.op_id)).progress_summary).toMatchObject({ stalled: true });
    expect(await summaryOnStream(op, (s) => s.stalled === true)).toMatchObject({ status: 'running' });
    ctx.progress({ phase: 'copy', progress: { current: 2, total: 10 } });
    expect(await summaryOnStream(op, (s) => s.stalled === false)).toMatchObject({ status: 'running' });
    await pool.heartbeatOnce();
    expect((await lro.store.get(op.op_id)).progress_summary).toMatchObject({ stalled: false });
    finish();
    expect(await lro.wait(op.op_id, 10_000)).toMatchObject({ status: 'succeeded' });
    await pool.stop();
  });

  it('an op that never reports is stalled stall_s after it was claimed', async () => {
    const { pool, op, finish } = await remoteRunning(5);
    clock.advance(5_000);
    await pool.heartbeatOnce();
    expect((await lro.store.get(op.op_id)).progress_summary).toMatchObject({ stalled: true });
    finish();
    await lro.wait(op.op_id, 10_000);
    await pool.stop();
  });

  it('a failed op is not claimable until the clock passes its backoff, then is', async () => {
    const pool = lro.workerPool(quiet);
    await pool.start();
    const idle = once(pool, 'idle');
    const { op } = await lro.store.create(hubOp('demo', { steps: 1, step_ms: 0, fail_at_step: 1 }, { max_attempts: 2 }));
    await idle; // attempt 1 failed and was written
    const failed = await lro.store.get(op.op_id);
    expect(failed).toMatchObject({ status: 'queued', attempt: 1, last_error: { code: 'demo_failure', attempt: 1 } });
    expect(failed.last_error!.at).toBe(new Date(clock.now()).toISOString()); // stamped by the clock
    const backoff = failed.run_at.getTime() - clock.now();
    expect(backoff).toBeGreaterThanOrEqual(500); // RETRY.handler: base 1 s, equal jitter
    expect(backoff).toBeLessThanOrEqual(1000);
    clock.set(failed.run_at.getTime() - 1);
    await pool.claimOnce();
    expect(await lro.store.get(op.op_id)).toMatchObject({ status: 'queued', attempt: 1 });
    clock.set(failed.run_at);
    const again = once(pool, 'idle');
    await pool.claimOnce();
    await again;
    const done = await lro.store.get(op.op_id);
    expect(done).toMatchObject({ status: 'failed', attempt: 2, error: { code: 'demo_failure', attempt: 2 } });
    expect(done.started_at!.getTime()).toBeLessThan(done.finished_at!.getTime());
    await pool.stop();
  });

  it('wait times out though the clock stands still', async () => {
    const { op } = await lro.store.create(hubOp('remote'));
    const got = await lro.wait(op.op_id, 100);
    expect(got.status).toBe('queued');
    await lro.store.cancel(op.op_id);
  });
});
