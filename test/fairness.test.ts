import { describe, expect, it } from 'vitest';
import { accountKey, operationClaim, type ClaimParams } from '../src/lro/sql/operations-claim.js';
import type { Operation } from '../src/shared/operation.js';
import { hubOp, openTestLro } from './helpers/lro.js';

const { lro } = await openTestLro();

const T0 = new Date('2030-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

/** Claims as a pool does: `after` follows the account claimed last, `several` the statement to try first. */
async function claimer(limit: number, extra: Partial<ClaimParams> = {}) {
  const after: Record<string, string> = {};
  const several: Record<string, boolean> = {};
  return async (now: Date, n = limit): Promise<Operation[]> => {
    const ops = await operationClaim(lro.db, {
      routings: ['hub'],
      kinds: null,
      limit: n,
      worker_id: 'test',
      owner_type: 'hub',
      after,
      several,
      now,
      ...extra,
    });
    for (const op of ops) after[op.routing] = accountKey(op);
    return ops;
  };
}

/**
 * Deleted, not canceled: the update trigger of sql/001 keeps, per connection, the plan of its join of
 * the old and new rows made for its first statement there; after claims of a few rows, canceling
 * 10,000 took 8–15 s (a nested loop), and which connection got the cancel decided it.
 */
async function clearQueue(): Promise<void> {
  await lro.db.query(`DELETE FROM long_running_operations WHERE status IN ('queued', 'running')`);
}

describe('fair claims across accounts', () => {
  it("B's single op starts within 1 s behind A's 5,000 queued ops (pool of 10, 100 ms each)", async () => {
    const a = await lro.store.createMany(
      Array.from({ length: 5000 }, () => hubOp('probe', { sleep_ms: 100 })),
      { createdBy: 'account-a' },
    );
    const pool = lro.workerPool({ concurrency: 10 });
    await pool.start();
    await lro.wait(a[0]!, 10_000); // the pool is busy with A's backlog
    const [b] = await lro.store.createMany([hubOp('probe', { sleep_ms: 100 })], { createdBy: 'account-b' });
    const op = await lro.wait(b!, 10_000);
    const waitedMs = op.started_at!.getTime() - op.created_at.getTime();
    const { rows } = await lro.db.query(`SELECT count(*)::int AS n FROM long_running_operations
      WHERE created_by = 'account-a' AND status = 'queued'`);
    console.log(`fairness: B's op started ${waitedMs} ms after its create, ${rows[0].n} of A's ops still queued`);
    await pool.stop({ gracefulMs: 0 });
    expect(op.status).toBe('succeeded');
    expect(rows[0].n).toBeGreaterThan(4000);
    expect(waitedMs).toBeLessThan(1000);
    await clearQueue();
  }, 60_000);

  it('with one account the order is still priority, then run_at', async () => {
    const specs = [
      [0, 5],
      [10, 9],
      [0, 1],
      [-5, 0],
      [10, 2],
      [0, 3],
    ] as const; // [priority, run_at s]
    const ids: string[] = [];
    for (const [priority, s] of specs)
      ids.push(...(await lro.store.createMany([hubOp('probe', {}, { priority })], { createdBy: 'solo', now: at(s) })));
    const claim = await claimer(3);
    const got = [...(await claim(at(60))), ...(await claim(at(60))), ...(await claim(at(60)))];
    const expected = specs
      .map(([priority, s], i) => ({ priority, s, id: ids[i]! }))
      .sort((x, y) => y.priority - x.priority || x.s - y.s)
      .map((x) => x.id);
    expect(got.map((op) => op.op_id)).toEqual(expected);
  });

  it('ops queued for later, at any priority, neither hide nor reorder the due ones', async () => {
    await clearQueue();
    const make = (by: string, priority: number, s: number) =>
      lro.store.createMany([hubOp('probe', {}, { priority })], { createdBy: by, now: at(s) });
    await make('x', 10, 3600); // later, above every due op
    const [x5] = await make('x', 5, 0);
    const [x0] = await make('x', 0, 1);
    await make('x', 0, 3600);
    // One account: the plain claim.
    expect((await (await claimer(5))(at(60))).map((op) => op.op_id)).toEqual([x5, x0]);
    await clearQueue();
    await make('x', 10, 3600);
    const [x1] = await make('x', 1, 0);
    await make('y', 7, 3600);
    const [y3] = await make('y', 3, 0);
    // Two accounts: their turns, the same.
    const got = (await (await claimer(5))(at(60))).map((op) => op.op_id);
    expect(got.sort()).toEqual([x1, y3].sort());
  });

  it('accounts take turns whatever their priority; each keeps its own priority order', async () => {
    await clearQueue();
    const make = (by: string | null, priority: number, s: number) =>
      lro.store.createMany([hubOp('probe', {}, { priority })], { createdBy: by, now: at(s) });
    for (let i = 0; i < 4; i++) await make('greedy', 1000, i); // the best priority, created first
    await make('modest', 0, 10);
    await make('modest', 5, 11);
    await make(null, 0, 12); // admin and library creates: one account
    const claim = await claimer(1);
    const seq: string[] = [];
    for (let i = 0; i < 7; i++) for (const op of await claim(at(60))) seq.push(`${op.created_by ?? 'null'}:${op.priority}`);
    // Every account once per round; modest's priority 5 op before its priority 0 one.
    expect(seq.slice(0, 3).sort()).toEqual(['greedy:1000', 'modest:5', 'null:0']);
    expect(seq.slice(3, 5).sort()).toEqual(['greedy:1000', 'modest:0']);
    expect(seq.slice(5)).toEqual(['greedy:1000', 'greedy:1000']);
  });

  it('a batch interleaves accounts, and fills from the backlog what the others cannot use', async () => {
    await clearQueue();
    await lro.store.createMany(
      Array.from({ length: 20 }, () => hubOp('probe')),
      { createdBy: 'big', now: at(0) },
    );
    await lro.store.createMany([hubOp('probe')], { createdBy: 'small', now: at(1) });
    await lro.store.createMany([hubOp('probe')], { createdBy: 'later', now: at(3600) }); // not due yet
    const ops = await (await claimer(8))(at(60));
    expect(ops).toHaveLength(8); // no slot idles while ops are due
    expect(ops.filter((op) => op.created_by === 'small')).toHaveLength(1);
    expect(ops.filter((op) => op.created_by === 'later')).toHaveLength(0);
    expect(
      ops
        .slice(0, 2)
        .map((op) => op.created_by)
        .sort(),
    ).toEqual(['big', 'small']);
  });

  it('10,000 accounts: each claim visits only its turn, and the turns rotate through all of them', async () => {
    await clearQueue();
    await lro.db.query(
      `INSERT INTO long_running_operations (kind, scope_type, scope_id, routing, created_by, run_at)
      SELECT 'probe', 'hub', 'hub', 'hub', 'acct-' || lpad(g::text, 5, '0'), $1 FROM generate_series(1, 10000) g`,
      [at(0)],
    );
    await lro.db.query('ANALYZE long_running_operations');
    const claim = await claimer(10);
    const seen = new Set<string>();
    const ms: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      const ops = await claim(at(60));
      ms.push(performance.now() - t);
      expect(ops).toHaveLength(10);
      for (const op of ops) seen.add(op.created_by!);
    }
    expect(seen.size).toBe(500); // 50 claims, 500 different accounts: nobody twice before everyone once
    ms.sort((x, y) => x - y);
    console.log(`fairness: claim of 10 among 10,000 accounts, median ${ms[25]!.toFixed(1)} ms`);
  }, 60_000);
});

describe('the prepared claim', () => {
  it('keeps working when a migration changes the table under it', async () => {
    await clearQueue();
    const claim = await claimer(2);
    await lro.store.createMany([hubOp('probe'), hubOp('probe')], { now: at(0) });
    expect(await claim(at(60), 1)).toHaveLength(1); // prepared on this connection
    await lro.db.query('ALTER TABLE long_running_operations ADD COLUMN added_later integer');
    const [op] = await claim(at(60), 1);
    expect(op).toMatchObject({ status: 'running', added_later: null });
  });
});
