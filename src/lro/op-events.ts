import type { ProgressStreams } from './streams/index.js';
import { streamOf } from './streams/types.js';
import type { Operation } from './types.js';

/** What a `summary` event carries: the op's state as a person watching it needs it. */
export function summaryOf(op: Operation, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    op_id: op.op_id,
    kind: op.kind,
    status: op.status,
    attempt: op.attempt,
    max_attempts: op.max_attempts,
    progress: op.progress_summary ?? null,
    error: op.error,
    last_error: op.last_error,
    ...(op.status === 'succeeded' ? { result: op.result } : {}),
    cancel_requested: op.cancel_requested_at !== null,
    run_at: op.run_at,
    started_at: op.started_at,
    finished_at: op.finished_at,
    updated_at: op.updated_at,
    ...extra,
  };
}

/**
 * Publishes a `summary` event on an op's stream at every state change. Best effort by design: the row
 * is the truth and is already committed; a stream that is down is logged, never fails the caller.
 */
export class OpEvents {
  readonly #streams: ProgressStreams;
  readonly #onError: (err: unknown) => void;

  constructor(streams: ProgressStreams, onError: (err: unknown) => void = (err) => console.error(`op events: ${(err as Error).message}`)) {
    this.#streams = streams;
    this.#onError = onError;
  }

  get streams(): ProgressStreams {
    return this.#streams;
  }

  /** Publishes the summaries of `ops` (one event each); resolves when stored. */
  summaries(ops: Operation[], extra?: Record<string, unknown>): Promise<void> {
    return Promise.all(ops.map((op) => this.#streams.publish(streamOf(op), [{ type: 'summary', summary: summaryOf(op, extra) }])))
      .then(() => {}, this.#onError);
  }
}
