import type { StreamEvent } from './types.js';

/**
 * One reader's place in a shared tail: a bounded queue of batches; overflow sends it back to
 * storage. Batches, not events, cross this boundary: one hop per batch for each reader.
 */
export class Subscriber {
  #batches: StreamEvent[][] = [];
  #count = 0;
  overflow = false;
  #wake: (() => void) | null = null;
  constructor(readonly limit: number) {}

  push(batch: StreamEvent[]): void {
    if (this.#count + batch.length > this.limit) {
      // A slow reader: forget its backlog (bounded memory) and let it re-read from storage.
      this.#batches = [];
      this.#count = 0;
      this.overflow = true;
    } else {
      this.#batches.push(batch);
      this.#count += batch.length;
    }
    this.#wake?.();
  }

  take(): StreamEvent[] | undefined {
    const b = this.#batches.shift();
    if (b) this.#count -= b.length;
    return b;
  }

  /** Resolves at the next push, or at once when `signal` is aborted. */
  next(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      this.#wake = () => {
        this.#wake = null;
        resolve();
      };
    });
  }

  /** Ends a wait for the next push (the reader's signal aborted: it listens once, not once per wait). */
  interrupt(): void {
    this.#wake?.();
  }
}
