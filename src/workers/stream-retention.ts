import { LOCKS, withAdvisoryXactLock } from '../lro/sql/locks.js';
import { operationMarkEventsDropped } from '../lro/sql/operations.js';
import { operationRetentionDue } from '../lro/sql/operations-maintenance.js';
import { streamOf, type ProgressStreams } from '../lro/streams/index.js';
import { DEFAULTS } from '../shared/defaults.js';
import { MaintenanceService, type MaintenanceServiceOptions } from './maintenance-service.js';

export interface StreamRetentionOptions extends MaintenanceServiceOptions {
  streams: ProgressStreams;
  /** Seconds a finished op's stream is kept after `finished_at`. @default DEFAULTS.retentionS */
  retentionS?: number;
}

export interface RetentionReport {
  /** Ops whose streams this pass dropped (the records stay, marked `events_dropped_at`). */
  streams_dropped: string[];
  /** Events dropped for being older than their stream's `max_age_s`. */
  events_aged_out: number;
}

/**
 * Keeps the progress streams bounded in time: drops the streams of ops finished more than
 * `retentionS` ago (marking the ops, so a stream is dropped once) and trims events past their
 * stream's `max_age_s`. A pass runs under `LOCKS.streamRetention`, held until the marks commit: two
 * hubs never both drop the same streams. The drops go through the streams' own connections while the
 * lock's transaction holds one of the pool's, so a pass needs two connections.
 */
export class StreamRetention extends MaintenanceService<RetentionReport> {
  readonly #streams: ProgressStreams;
  readonly #retentionS: number;

  constructor(opts: StreamRetentionOptions) {
    super('stream-retention', opts);
    this.#streams = opts.streams;
    this.#retentionS = opts.retentionS ?? DEFAULTS.retentionS;
  }

  /** One pass: what it dropped, or null when another process holds the retention lock. */
  async runOnce(opts: { now?: Date } = {}): Promise<RetentionReport | null> {
    const now = opts.now ?? this.clock.sqlNow();
    return withAdvisoryXactLock(this.db, LOCKS.streamRetention, async (client) => {
      const due = await operationRetentionDue(client, { now, retention_s: this.#retentionS, limit: this.batch });
      // Dropping is idempotent: a pass that fails half-way marks nothing, and the next one drops again.
      for (const op of due) await this.#streams.drop(streamOf(op));
      if (due.length > 0) {
        await operationMarkEventsDropped(client, { op_ids: due.map((op) => op.op_id), now });
        this.log.info({ streams: due.length }, 'dropped streams past retention');
      }
      return { streams_dropped: due.map((op) => op.op_id), events_aged_out: await this.#streams.backend.trimAge(now) };
    });
  }
}
