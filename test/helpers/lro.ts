import { TestRunner, afterAll, afterEach, beforeEach, onTestFinished } from 'vitest';
import { Lro, type LroOptions } from '../../src/app/lro.js';
import type { Operation } from '../../src/shared/operation.js';
import { workerOps } from '../../src/workers/ops.js';
import type { WorkerPool } from '../../src/workers/pool.js';
import { createTestDatabase } from './db.js';
import { testKinds } from './kinds.js';

/**
 * An Lro on this file's own database, closed after the file; opened inside a test, closed when that
 * test ends (with every pool it built). Leaked pools are checked: a pool that a test builds on the
 * file's Lro must be stopped by the end of that test (the file's own afterEach hooks included), else
 * the test fails naming it, so no pool goes on claiming the next test's ops. Pools a file builds at
 * its top level are its fixtures and stop with the Lro.
 */
export async function openTestLro(opts: Partial<LroOptions> = {}): Promise<{ lro: Lro; url: string }> {
  const url = opts.connectionString ?? (await createTestDatabase());
  const lro = new Lro({ kinds: testKinds(), ...opts, connectionString: url });
  if (TestRunner.getCurrentTest()) {
    // Opened by a test, for that test: closed (its pools stopped) when the test ends.
    onTestFinished(() => lro.close({ gracefulMs: 0 }));
    return { lro, url };
  }
  let before = new Set<WorkerPool>();
  beforeEach(() => {
    before = new Set(lro.pools);
  });
  // Registered before the file's own afterEach hooks, so it runs after them.
  afterEach(async () => {
    const leaked = running([...lro.pools].filter((p) => !before.has(p)));
    await Promise.all(leaked.map((p) => p.stop({ gracefulMs: 0 })));
    failOnLeak(leaked);
  });
  afterAll(() => lro.close({ gracefulMs: 0 }));
  return { lro, url };
}

const running = (pools: WorkerPool[]) => pools.filter((p) => p.started);

function failOnLeak(leaked: WorkerPool[]): void {
  if (leaked.length === 0) return;
  throw new Error(
    `the test left worker pool(s) ${leaked.map((p) => p.workerId).join(', ')} running: ` +
      'stop every pool a test starts (await pool.stop()), also when it fails half-way (onTestFinished)',
  );
}

/** A create request for the hub scope. */
export const hubOp = (kind: string, input: unknown = {}, extra: object = {}) => ({
  kind,
  scope: { type: 'hub' as const },
  input,
  ...extra,
});

/**
 * A `probe` op created and claimed (at `now` when given) by a worker that then vanishes: its lease
 * runs out unless something rescues it. Returns the claimed row (undefined if another claim won).
 */
export async function claimedByGhost(lro: Lro, now?: Date): Promise<{ created: Operation; claimed: Operation | undefined }> {
  const { op: created } = await lro.store.create(hubOp('probe', {}), { now });
  const [claimed] = await workerOps(lro.db).claim({
    routings: ['hub'],
    kinds: ['probe'],
    limit: 1,
    worker_id: 'gone',
    owner_type: 'hub',
    now,
  });
  return { created, claimed };
}
