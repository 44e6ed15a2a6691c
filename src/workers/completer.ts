import { setTimeout as delay } from 'node:timers/promises';
import type { Operation } from '../shared/operation.js';
import type { WorkerOps } from './ops.js';

export interface Completion {
  op_id: string;
  epoch: number;
  result: unknown;
  summary: unknown;
}

/**
 * Batches completions: the first one is written at once; those that arrive while a write is in flight
 * go together in the next one. A failed write (connection lost) is retried with backoff, so a result
 * is never dropped while the process lives.
 */
export class Completer {
  readonly #complete: WorkerOps['completeMany'];
  readonly #onError: (err: unknown) => void;
  readonly #onLost: (opIds: string[]) => void;
  readonly #onDone: (ops: Operation[]) => void;
  #buffer: Completion[] = [];
  #flushing: Promise<void> | null = null;

  constructor(opts: {
    complete: WorkerOps['completeMany']; onError: (err: unknown) => void; onLost: (opIds: string[]) => void;
    onDone?: (ops: Operation[]) => void;
  }) {
    this.#complete = opts.complete;
    this.#onError = opts.onError;
    this.#onLost = opts.onLost;
    this.#onDone = opts.onDone ?? (() => {});
  }

  push(c: Completion): void {
    this.#buffer.push(c);
    this.#flushing ??= this.#flush().finally(() => { this.#flushing = null; });
  }

  /** Resolves when every pushed completion is written. */
  async drain(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #flush(): Promise<void> {
    let retryMs = 50;
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, 1000);
      try {
        const done = await this.#complete({ done: batch });
        const held = new Set(done.map((op) => op.op_id));
        const lost = batch.filter((c) => !held.has(c.op_id)).map((c) => c.op_id);
        if (lost.length > 0) this.#onLost(lost);
        this.#onDone(done);
        retryMs = 50;
      } catch (err) {
        this.#onError(err);
        this.#buffer.unshift(...batch);
        await delay(retryMs);
        retryMs = Math.min(retryMs * 2, 2000);
      }
    }
  }
}
