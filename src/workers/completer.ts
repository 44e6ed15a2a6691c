import { BatchQueue } from '../lro/batch-queue.js';
import { RETRY } from '../shared/defaults.js';
import type { Operation } from '../shared/operation.js';
import type { WorkerOps } from './ops.js';

export interface Completion {
  op_id: string;
  epoch: number;
  result: unknown;
  summary: unknown;
}

/** Completions per statement at most. */
const MAX_BATCH = 1000;

/**
 * Batches completions on a `BatchQueue`: the first one is written at once; those that arrive while a
 * write is in flight go together in the next one. A failed write (connection lost) is retried with
 * `RETRY.connection` backoff and never given up, so a result is never dropped while the process lives.
 */
export class Completer {
  readonly #queue: BatchQueue<Completion, Operation | null>;

  /**
   * @param opts.onError each failed write (it will be retried)
   * @param opts.onLost completions the database refused (their leases were lost)
   * @param opts.onDone the ops a write completed
   */
  constructor(opts: {
    complete: WorkerOps['completeMany'];
    onError: (err: unknown) => void;
    onLost: (opIds: string[]) => void;
    onDone?: (ops: Operation[]) => void;
  }) {
    this.#queue = new BatchQueue(
      async (batch) => {
        const done = await opts.complete({ done: batch });
        const held = new Map(done.map((op) => [op.op_id, op]));
        const lost = batch.filter((c) => !held.has(c.op_id)).map((c) => c.op_id);
        if (lost.length > 0) opts.onLost(lost);
        opts.onDone?.(done);
        return batch.map((c) => held.get(c.op_id) ?? null);
      },
      { maxBatch: MAX_BATCH, retry: { backoff: RETRY.connection, onRetry: (err) => opts.onError(err) } },
    );
  }

  push(c: Completion): void {
    this.#queue.add(c);
  }

  /** Resolves when every pushed completion is written. */
  drain(): Promise<void> {
    return this.#queue.drain();
  }
}
