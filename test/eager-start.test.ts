import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { streamOf } from '../src/lro/streams/types.js';
import type { Operation } from '../src/shared/operation.js';
import { hubOp, openTestLro } from './helpers/lro.js';

// Eager start: a create made where a started pool of the same Lro would run the op, with a slot free
// and nothing queued in the op's routing, inserts the op already claimed by that pool.
const { lro } = await openTestLro();

const summaries = async (op: Operation) =>
  (await lro.streams.backend.history(streamOf(op), 1, 100)).events.flatMap((e) =>
    e.type === 'summary' ? [[e.seq, e.summary.status] as const] : [],
  );

describe('eager start', () => {
  it('an idle pool runs an op created beside it without a claim: running at once, attempt 1, its stream starts at running', async () => {
    const pool = lro.workerPool({ concurrency: 2, pollMs: 3_600_000 });
    await pool.start();
    try {
      const { op } = await lro.store.create(hubOp('probe'));
      expect(op).toMatchObject({ status: 'running', owner_id: pool.workerId, owner_type: 'hub', attempt: 1, lease_epoch: 1 });
      expect(op.started_at).not.toBeNull();
      const done = await lro.wait(op.op_id, 10_000);
      expect(done).toMatchObject({ status: 'succeeded', attempt: 1, result: { attempt: 1 } });
      expect(await summaries(op)).toEqual([
        [1, 'running'],
        [2, 'succeeded'],
      ]);
    } finally {
      await pool.stop();
    }
  });

  it('never passes an op that waits: with anything queued in the routing, a create queues behind it', async () => {
    const pool = lro.workerPool({ concurrency: 2, serves: ['probe'], pollMs: 3_600_000 });
    await pool.start();
    try {
      // A `demo` op nobody here serves stays queued in the hub routing.
      const { op: waiting } = await lro.store.create(hubOp('demo'));
      expect(waiting.status).toBe('queued');
      const { op } = await lro.store.create(hubOp('probe'));
      expect(op.status).toBe('queued');
      await pool.claimOnce();
      expect((await lro.wait(op.op_id, 10_000)).status).toBe('succeeded');
      expect((await summaries(op)).map(([, s]) => s)).toEqual(['queued', 'running', 'succeeded']);
      await lro.store.cancel(waiting.op_id);
    } finally {
      await pool.stop();
    }
  });

  it('takes only free slots: a full pool leaves the create queued for its next claim', async () => {
    const pool = lro.workerPool({ concurrency: 1, pollMs: 3_600_000 });
    await pool.start();
    try {
      const { op: busy } = await lro.store.create(hubOp('probe', { sleep_ms: 60_000 }));
      expect(busy.status).toBe('running');
      const { op } = await lro.store.create(hubOp('probe'));
      expect(op.status).toBe('queued'); // the one slot is taken; the pool claims it when the first one ends
      await lro.store.cancel(busy.op_id);
      expect((await lro.wait(op.op_id, 10_000)).status).toBe('succeeded');
    } finally {
      await pool.stop();
    }
  });

  it('gives the slot back when nothing is created (a dedupe key held by an active op), and a stopped pool takes none', async () => {
    const pool = lro.workerPool({ concurrency: 2, pollMs: 3_600_000 });
    await pool.start();
    try {
      const { op: holder } = await lro.store.create(hubOp('probe', { sleep_ms: 60_000 }, { dedupe_key: 'same' }));
      expect(holder.status).toBe('running');
      // The second slot is held for this create, which finds the key taken: nothing is created.
      expect(await lro.store.create(hubOp('probe', {}, { dedupe_key: 'same' }))).toMatchObject({
        created: false,
        op: { op_id: holder.op_id },
      });
      const { op: next } = await lro.store.create(hubOp('probe'));
      expect(next.status).toBe('running'); // the dedupe hit gave that slot back
      await lro.wait(next.op_id, 10_000);
      const idle = once(pool, 'idle');
      await lro.store.cancel(holder.op_id);
      await idle;
    } finally {
      await pool.stop();
    }
    const { op: after } = await lro.store.create(hubOp('probe'));
    expect(after.status).toBe('queued');
    await lro.store.cancel(after.op_id);
  });

  it('is off with eagerStart: false', async () => {
    const { lro: plain } = await openTestLro({ connectionString: lro.db.options.connectionString!, eagerStart: false });
    const pool = plain.workerPool({ concurrency: 1, pollMs: 3_600_000 });
    await pool.start();
    const { op } = await plain.store.create(hubOp('probe'));
    expect(op.status).toBe('queued');
    expect((await plain.wait(op.op_id, 10_000)).status).toBe('succeeded');
    await pool.stop();
  });
});
