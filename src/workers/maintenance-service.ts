import type pg from 'pg';
import { DEFAULTS } from '../shared/defaults.js';
import type { Operation } from '../shared/operation.js';
import { systemClock, type Clock } from '../lro/clock.js';
import { defaultLogger, type Logger } from '../lro/log.js';
import type { OpEvents } from '../lro/op-events.js';
import { Ticker, type Service } from '../lro/service.js';
import { withAdvisoryXactLock } from '../lro/sql/locks.js';
import type { Db } from '../lro/sql/operations.js';

/** What the rescuer, the expirer and stream retention each take. */
export interface MaintenanceServiceOptions {
  db: pg.Pool;
  /** The time of each pass: `sqlNow()` goes into the statements. @default systemClock (the database's clock) */
  clock?: Clock;
  /** Where failed passes are reported (bound with `service`). @default defaultLogger() */
  log?: Logger;
  /** ms between passes. @default DEFAULTS.maintenanceIntervalMs */
  intervalMs?: number;
  /** Rows a pass changes at most; the rest wait for the next pass. @default DEFAULTS.maintenanceBatch */
  batch?: number;
}

/**
 * A maintenance service: one pass (`runOnce`, public so tests drive it) on its own interval, never
 * two at once, a failed pass logged at `error` and tried again next tick. Nothing runs before
 * `start()`; `start()` and `stop()` are idempotent, and `stop()` waits for a pass in flight.
 */
export abstract class MaintenanceService<T> implements Service {
  protected readonly db: pg.Pool;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  protected readonly batch: number;
  readonly #ticker: Ticker;

  constructor(service: string, opts: MaintenanceServiceOptions) {
    this.db = opts.db;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.log ?? defaultLogger()).child({ service });
    this.batch = opts.batch ?? DEFAULTS.maintenanceBatch;
    this.#ticker = new Ticker(() => this.runOnce(), {
      intervalMs: opts.intervalMs ?? DEFAULTS.maintenanceIntervalMs,
      onError: (err) => this.log.error({ err }, `${service} pass failed`),
    });
  }

  get running(): boolean {
    return this.#ticker.running;
  }

  start(): void {
    this.#ticker.start();
  }

  stop(): Promise<void> {
    return this.#ticker.stop();
  }

  /** One pass, or null when another process holds this service's lock. `now` overrides the clock for it. */
  abstract runOnce(opts?: { now?: Date }): Promise<T | null>;
}

export interface OpSweepOptions extends MaintenanceServiceOptions {
  /** Publishes the summaries of the ops a pass changed. @default none (no streams) */
  events?: OpEvents;
}

/** A transition of many ops in one guarded statement (`now`, at most `limit` rows), returning them. */
export type OpTransition = (db: Db, p: { now?: Date | null; limit: number }) => Promise<Operation[]>;

/**
 * A service that moves ops from one state to another in one statement under its advisory lock (so
 * one process at a time does it), then publishes their summaries.
 */
export abstract class OpSweep extends MaintenanceService<Operation[]> {
  readonly #lock: number;
  readonly #transition: OpTransition;
  readonly #events: OpEvents | null;

  constructor(service: string, lock: number, transition: OpTransition, opts: OpSweepOptions) {
    super(service, opts);
    this.#lock = lock;
    this.#transition = transition;
    this.#events = opts.events ?? null;
  }

  /** One pass: the ops it changed (as they are now), or null when another process holds the lock. */
  async runOnce(opts: { now?: Date } = {}): Promise<Operation[] | null> {
    const now = opts.now ?? this.clock.sqlNow();
    const changed = await withAdvisoryXactLock(this.db, this.#lock, (client) => this.#transition(client, { now, limit: this.batch }));
    if (!changed) return null;
    if (changed.length > 0) {
      this.log.info({ ops: changed.length }, 'ops changed'); // bound with the service's name
      this.changed(changed);
    }
    // After the commit: a summary must never announce a change that was rolled back.
    await this.#events?.transitions(changed);
    return changed;
  }

  /** Called with the ops a pass changed (at least one), before their summaries are published. */
  protected changed(_ops: Operation[]): void {}
}
