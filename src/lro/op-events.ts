import type { ProgressStreams } from './streams/index.js';
import { StaleEpochError, streamOf } from './streams/types.js';
import type { Operation } from '../shared/operation.js';
import { defaultLogger, type Logger } from './log.js';

/** A summary as it should read once the op is not running (a terminal or queued row): speeds stay, ETAs go. */
export function withoutEtas(summary: unknown): unknown {
  const s = summary as { phases?: { eta_s?: number }[] } | null;
  if (!s || !Array.isArray(s.phases) || !s.phases.some((ph) => ph.eta_s !== undefined)) return summary;
  return { ...s, phases: s.phases.map(({ eta_s: _, ...rest }) => rest) };
}

/** What a summary is made of, and its stream found by: the columns of an op that `summaryOf` and `streamOf` read. */
export type SummaryFields = Pick<
  Operation,
  | 'op_id'
  | 'scope_type'
  | 'scope_id'
  | 'lease_epoch'
  | 'status'
  | 'attempt'
  | 'max_attempts'
  | 'progress_summary'
  | 'error'
  | 'last_error'
  | 'result'
  | 'cancel_requested_at'
  | 'run_at'
  | 'started_at'
  | 'finished_at'
>;

/**
 * What a `summary` event carries: the op's state as a person watching it needs it. Fields that are
 * empty are left out (every event is a row in the `pg` adapter).
 */
export function summaryOf(op: SummaryFields, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const s: Record<string, unknown> = { status: op.status, attempt: op.attempt, max_attempts: op.max_attempts };
  // A row that is not running may still hold the ETAs of its last heartbeat (a cancel or rescue does not rewrite it).
  if (op.progress_summary) s.progress = op.status === 'running' ? op.progress_summary : withoutEtas(op.progress_summary);
  if (op.error) s.error = op.error;
  if (op.last_error && op.status !== 'failed') s.last_error = op.last_error;
  if (op.status === 'succeeded') s.result = op.result;
  if (op.cancel_requested_at) s.cancel_requested = true;
  if (op.status === 'queued' && op.attempt > 0) s.run_at = op.run_at;
  if (op.started_at) s.started_at = op.started_at;
  if (op.finished_at) s.finished_at = op.finished_at;
  return Object.assign(s, extra);
}

/**
 * Publishes a `summary` event on an op's stream at every state change.
 *
 * With the streams in Postgres, the statement that changes ops appends their summaries itself
 * (sql/operations-summaries.ts), so a state change and its summary commit together, in order, with
 * no second round trip; `transitions()` is then a no-op.
 * Elsewhere (NATS) they are published here after the commit: best effort by design (the row is the
 * truth and is already committed; a stream that is down is logged, never fails the caller), each
 * fenced by the op's `lease_epoch` as the row had it, so one that a newer owner's summary overtook
 * is refused by the stream, quietly.
 */
export class OpEvents {
  readonly #streams: ProgressStreams;
  readonly #onError: (err: unknown) => void;
  /** The statements that change ops write their summaries (`appendSummariesThrough` their pool). */
  readonly transitionsInSql: boolean;

  /**
   * @param opts.log where a failed publish is reported (warn) @default defaultLogger()
   * @param opts.onError instead of logging
   * @param opts.transitionsInSql the ops are written through a pool marked with
   *   `appendSummariesThrough`, and the streams are the `pg` adapter's @default false
   */
  constructor(streams: ProgressStreams, opts: { log?: Logger; onError?: (err: unknown) => void; transitionsInSql?: boolean } = {}) {
    this.#streams = streams;
    const log = opts.log ?? defaultLogger();
    this.#onError = opts.onError ?? ((err) => log.warn({ err }, `op events: ${(err as Error).message}`));
    this.transitionsInSql = opts.transitionsInSql ?? false;
  }

  get streams(): ProgressStreams {
    return this.#streams;
  }

  /**
   * The summaries of ops whose state the caller changed (and committed), or `created` (new ops: the
   * first event of each stream, which the backend may write all at once): see the class.
   */
  transitions(ops: SummaryFields[], opts: { created?: boolean } = {}): Promise<void> {
    if (this.transitionsInSql) return Promise.resolve();
    const backend = this.#streams.backend;
    if (!opts.created || !backend.appendFirst) return this.summaries(ops);
    return this.#settle(backend.appendFirst(ops.map((op) => ({ addr: streamOf(op), body: { type: 'summary', summary: summaryOf(op) } }))));
  }

  /**
   * Publishes the summaries of `ops` (one event each); resolves when stored. They are built here, so
   * they go straight to the backend without the validation that outside events get.
   */
  summaries(ops: SummaryFields[], extra?: Record<string, unknown>): Promise<void> {
    const backend = this.#streams.backend;
    return this.#settle(ops.map((op) => backend.append(streamOf(op), [{ type: 'summary', summary: summaryOf(op, extra) }])));
  }

  /** Waits for every write; reports the first failure that is not a stale epoch's refusal. */
  async #settle(writes: Promise<unknown>[]): Promise<void> {
    const results = await Promise.allSettled(writes);
    for (const r of results) if (r.status === 'rejected' && !(r.reason instanceof StaleEpochError)) return this.#onError(r.reason);
  }
}
