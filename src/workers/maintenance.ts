import type pg from 'pg';
import { withAdvisoryXactLock } from '../lro/sql/locks.js';
import { operationExpire, operationRescue } from '../lro/sql/operations.js';

const MAINTENANCE_LOCK = 7_203_114_002;
const BATCH = 1000;

export interface MaintenanceReport {
  rescued: { op_id: string; status: string }[];
  expired: string[];
}

/**
 * Rescue of stale leases and expiry of queued ops, on a schedule. Any number of hubs may run one:
 * each pass takes an advisory lock, so exactly one executes at a time and the others skip.
 */
export class Maintainer {
  readonly #db: pg.Pool;
  readonly #intervalMs: number;
  readonly #onError: (err: unknown) => void;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<unknown> | null = null;

  /** @param opts.intervalMs how often a pass runs. @default 5000 */
  constructor(opts: { db: pg.Pool; intervalMs?: number; onError?: (err: unknown) => void }) {
    this.#db = opts.db;
    this.#intervalMs = opts.intervalMs ?? 5000;
    this.#onError = opts.onError ?? ((err) => console.error(`maintenance: ${(err as Error).message}`));
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.#inFlight ??= this.runOnce().catch(this.#onError).finally(() => { this.#inFlight = null; });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#inFlight;
  }

  /** One pass; null when another process holds the maintenance lock. `now` pins the clock in tests. */
  runOnce(opts: { now?: Date } = {}): Promise<MaintenanceReport | null> {
    return withAdvisoryXactLock(this.#db, MAINTENANCE_LOCK, async (client) => ({
      rescued: await operationRescue(client, { now: opts.now, limit: BATCH }),
      expired: await operationExpire(client, { now: opts.now, limit: BATCH }),
    }));
  }
}
