import type pg from 'pg';
import { defined } from '../lro/defined.js';
import { report, rescueChannel, type RescueMessage } from '../lro/instruments.js';
import type { OpEvents } from '../lro/op-events.js';
import { withAdvisoryXactLock } from '../lro/sql/locks.js';
import {
  operationEventsDue, operationExpire, operationMarkEventsDropped, operationRescue,
} from '../lro/sql/operations.js';
import { streamOf } from '../lro/streams/types.js';

const MAINTENANCE_LOCK = 7_203_114_002;
const BATCH = 1000;

export interface MaintenanceReport {
  rescued: { op_id: string; status: string }[];
  expired: string[];
  /** Ops whose event streams were dropped after the retention period. */
  streams_dropped: string[];
  /** Events dropped for being older than their stream's `max_age_s`. */
  events_aged_out: number;
}

export interface MaintainerOptions {
  db: pg.Pool;
  /** Publishes summaries for the ops a pass changes, and drops streams past retention. */
  events?: OpEvents;
  /** How often a pass runs. @default 5000 */
  intervalMs?: number;
  /** How long a finished op's stream is kept. @default 7 days */
  retentionS?: number;
  onError?: (err: unknown) => void;
}

/**
 * Rescue of stale leases, expiry of queued ops, retention of finished ops' streams and the age limit
 * of stream events, on a schedule.
 * Any number of hubs may run one: each pass takes an advisory lock, so exactly one executes at a time.
 */
export class Maintainer {
  readonly #o: Required<Omit<MaintainerOptions, 'events'>> & { events: OpEvents | null };
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<unknown> | null = null;

  constructor(opts: MaintainerOptions) {
    this.#o = {
      intervalMs: 5000, retentionS: 7 * 86_400,
      onError: (err) => console.error(`maintenance: ${(err as Error).message}`),
      ...(defined(opts) as MaintainerOptions), events: opts.events ?? null,
    };
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.#inFlight ??= this.runOnce().catch(this.#o.onError).finally(() => { this.#inFlight = null; });
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#inFlight;
  }

  /** One pass; null when another process holds the maintenance lock. `now` pins the clock in tests. */
  async runOnce(opts: { now?: Date } = {}): Promise<MaintenanceReport | null> {
    const changed = await withAdvisoryXactLock(this.#o.db, MAINTENANCE_LOCK, async (client) => ({
      rescued: await operationRescue(client, { now: opts.now, limit: BATCH }),
      expired: await operationExpire(client, { now: opts.now, limit: BATCH }),
    }));
    if (!changed) return null;
    if (changed.rescued.length > 0) {
      report<RescueMessage>(rescueChannel, () => ({ db: this.#o.db, rescued: changed.rescued.map((op) => ({ kind: op.kind, status: op.status })) }));
    }
    await this.#o.events?.summaries([...changed.rescued, ...changed.expired]);
    return {
      rescued: changed.rescued.map((op) => ({ op_id: op.op_id, status: op.status })),
      expired: changed.expired.map((op) => op.op_id),
      streams_dropped: await this.#dropOldStreams(opts.now ?? new Date()),
      events_aged_out: (await this.#o.events?.streams.backend.trimAge(opts.now)) ?? 0,
    };
  }

  async #dropOldStreams(now: Date): Promise<string[]> {
    const events = this.#o.events;
    if (!events) return [];
    const due = await operationEventsDue(this.#o.db, { before: new Date(now.getTime() - this.#o.retentionS * 1000), limit: BATCH });
    for (const op of due) await events.streams.drop(streamOf(op));
    if (due.length > 0) await operationMarkEventsDropped(this.#o.db, { op_ids: due.map((op) => op.op_id), now });
    return due.map((op) => op.op_id);
  }
}
