import { describe, expect, it } from 'vitest';
import { workerOps } from '../src/workers/ops.js';
import { LeaseLostError } from '../src/lro/errors.js';
import { hubOp, openTestLro } from './helpers/lro.js';
import { startWorkerProcess } from './helpers/processes.js';

// A lease of 2 s: a claim whose answer a cut connection lost is rescued within the test, as it would
// be after LRO_LEASE_S in production.
const { lro, url } = await openTestLro({ applicationName: 'lro-test', leaseS: 2 });

describe('a worker dies or loses its connections', () => {
  it('kill -9 mid-op: after the lease times out another worker finishes it; the old epoch is refused', async () => {
    const doomed = await startWorkerProcess({ DATABASE_URL: url, POOLS: '1', CONCURRENCY: '1' });
    const { op } = await lro.store.create(hubOp('probe', { sleep_ms: 600_000, announce: true }));
    const [, , epoch] = (await doomed.line(/^started /)).split(' ');
    doomed.child.kill('SIGKILL');
    expect(await doomed.exited).toBe('SIGKILL');

    const running = await lro.store.get(op.op_id);
    expect(running).toMatchObject({ status: 'running', lease_epoch: Number(epoch), lease_s: 2 });
    // The lease has not run out yet: rescue leaves the op alone.
    const maintainer = lro.maintainer();
    expect((await maintainer.runOnce({ now: running.heartbeat_at! }))?.rescued).toEqual([]);
    // Past the lease: requeued under a new epoch, the failed attempt on record.
    const late = new Date(running.heartbeat_at!.getTime() + 2_001);
    expect((await maintainer.runOnce({ now: late }))?.rescued).toEqual([{ op_id: op.op_id, status: 'queued' }]);
    const requeued = await lro.store.get(op.op_id);
    expect(requeued).toMatchObject({
      status: 'queued',
      lease_epoch: Number(epoch) + 1,
      owner_id: null,
      last_error: { code: 'lease_expired' },
    });

    const pool = lro.workerPool({ concurrency: 1 });
    await pool.start();
    const done = await lro.wait(op.op_id, 20_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, result: { pid: process.pid, attempt: 2 } });

    // The dead worker's epoch can write nothing: no result, no failure, no progress.
    const ops = workerOps(lro.db);
    const stale = { op_id: op.op_id, epoch: Number(epoch) };
    expect(await ops.completeMany({ done: [{ ...stale, result: { pid: 1, attempt: 1 }, summary: null }] })).toEqual([]);
    await expect(ops.fail({ ...stale, error: { code: 'x', message: 'late' }, retryable: false, backoff_ms: 0 })).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    expect(await ops.heartbeat({ leases: [{ ...stale, summary: { late: true } }] })).toEqual([]);
    expect(await lro.store.get(op.op_id)).toMatchObject({ status: 'succeeded', result: done.result });
    await pool.stop();
  });

  it('an op whose attempts are used up fails when its lease runs out', async () => {
    const { op } = await lro.store.create(hubOp('probe', {}, { max_attempts: 1 }));
    await lro.db.query(
      `UPDATE long_running_operations SET status = 'running', attempt = 1, lease_epoch = 1,
      owner_id = 'gone', started_at = now(), heartbeat_at = now() - interval '1 hour' WHERE op_id = $1`,
      [op.op_id],
    );
    await lro.maintainer().runOnce();
    expect(await lro.store.get(op.op_id)).toMatchObject({ status: 'failed', error: { code: 'lease_expired' } });
  });

  it("the server ends the worker's connections: it reconnects and loses nothing", async () => {
    const worker = await startWorkerProcess({ DATABASE_URL: url, POOLS: '2', CONCURRENCY: '5' });
    const first = await lro.store.createMany(Array.from({ length: 300 }, () => hubOp('demo', { steps: 1, step_ms: 2 })));
    const maintainer = lro.maintainer({ intervalMs: 250 }); // rescues a claim whose answer was lost
    maintainer.start();
    let terminated = 0;
    for (let round = 0; round < 3; round++) {
      await lro.wait(first[round * 100]!, 10_000);
      const { rows } = await lro.db.query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'lro-test-worker%'`);
      terminated += rows[0].n;
    }
    expect(terminated).toBeGreaterThanOrEqual(3);
    // Work created after the last cut still reaches the worker (its LISTEN connection came back).
    const second = await lro.store.createMany(Array.from({ length: 50 }, () => hubOp('demo', { steps: 1, step_ms: 0 })));
    const ops = await Promise.all([...first, ...second].map((id) => lro.wait(id, 30_000)));
    expect(ops.filter((op) => op.status !== 'succeeded').map((op) => op.status)).toEqual([]);
    await maintainer.stop();
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
