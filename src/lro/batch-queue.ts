import { retry, type RetryOptions } from '../shared/backoff.js';

interface Entry<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

const ignore = () => {};

/**
 * Turns concurrent single calls into batched ones: the first call is run at once; calls that arrive
 * while a batch is in flight go together in the next one, in order. With `retry`, a batch that fails
 * is run again (on `retry()`, the one retry loop) before its items fail; what finally fails goes to
 * `onFailure` as well as to the callers' promises.
 */
export class BatchQueue<I, O> {
  readonly #run: (items: I[]) => Promise<O[]>;
  readonly #o: Required<Omit<BatchQueueOptions<I>, 'retry' | 'onFailure'>> & Pick<BatchQueueOptions<I>, 'retry' | 'onFailure'>;
  #queue: Entry<I, O>[] = [];
  #inFlight = 0;
  #flushes = new Set<Promise<void>>();

  constructor(run: (items: I[]) => Promise<O[]>, opts: BatchQueueOptions<I> = {}) {
    this.#run = run;
    this.#o = { maxBatch: 500, maxInFlight: 1, lingerMs: 0, splitOnFailure: false, onIdle: ignore, ...opts };
  }

  /** Queues `item`; resolves with its outcome, or rejects when its batch failed (for good). */
  push(item: I): Promise<O> {
    const done = new Promise<O>((resolve, reject) => this.#enqueue({ item, resolve, reject }));
    return done;
  }

  /** Queues `item` without asking for its outcome: a failure reaches only `onFailure`. */
  add(item: I): void {
    this.#enqueue({ item, resolve: ignore, reject: ignore });
  }

  /** Items queued and not yet taken into a batch. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Replaces the newest queued item (not yet in a batch) that `match`es with `item`; false when none
   * does. The replaced item's caller gets the new item's outcome.
   */
  replaceLast(match: (queued: I) => boolean, item: I): boolean {
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const entry = this.#queue[i]!;
      if (match(entry.item)) {
        entry.item = item;
        return true;
      }
    }
    return false;
  }

  /** Drops every queued item (not those in a batch), rejecting their callers with `reason`; returns how many. */
  clear(reason: unknown = new Error('dropped from the batch queue')): number {
    const dropped = this.#queue.splice(0);
    for (const entry of dropped) entry.reject(reason);
    return dropped.length;
  }

  /** Resolves when everything pushed so far has been run (or has failed). */
  async drain(): Promise<void> {
    while (this.#flushes.size > 0) await Promise.all(this.#flushes);
  }

  #enqueue(entry: Entry<I, O>): void {
    this.#queue.push(entry);
    if (this.#inFlight < this.#o.maxInFlight) {
      const flush = this.#flush().finally(() => this.#flushes.delete(flush));
      this.#flushes.add(flush);
    }
  }

  async #flush(): Promise<void> {
    this.#inFlight++;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#o.maxBatch);
        try {
          const out = await this.#runRetried(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(out[i]!));
        } catch (err) {
          if (batch.length === 1 || !this.#o.splitOnFailure) this.#fail(err, batch);
          else {
            await Promise.all(
              batch.map((b) =>
                this.#runRetried([b.item]).then(
                  (o) => b.resolve(o[0]!),
                  (e) => this.#fail(e, [b]),
                ),
              ),
            );
          }
        }
        if (this.#o.lingerMs > 0 && this.#queue.length < this.#o.maxBatch) {
          await new Promise((r) => setTimeout(r, this.#o.lingerMs));
        }
      }
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0 && this.#queue.length === 0) this.#o.onIdle();
    }
  }

  #runRetried(items: I[]): Promise<O[]> {
    const policy = this.#o.retry;
    if (!policy) return this.#run(items);
    const { giveUpAfterMs, ...opts } = policy;
    const deadline = giveUpAfterMs === undefined ? opts.deadline : (opts.now ?? Date.now)() + giveUpAfterMs;
    return retry(() => this.#run(items), { ...opts, deadline });
  }

  #fail(err: unknown, batch: Entry<I, O>[]): void {
    this.#o.onFailure?.(
      err,
      batch.map((b) => b.item),
    );
    for (const b of batch) b.reject(err);
  }
}

export interface BatchQueueOptions<I = unknown> {
  /** Items per batch at most. @default 500 */
  maxBatch?: number;
  /**
   * Batches run at once: more than one lets a batch go while another waits on its commit (Postgres
   * then flushes their WAL together). @default 1 (batches run in order)
   */
  maxInFlight?: number;
  /** After a batch, wait this long for more items (fewer, larger batches under load). @default 0 */
  lingerMs?: number;
  /** When a batch fails as a whole, run its items one by one so that only the bad one fails. @default false */
  splitOnFailure?: boolean;
  /**
   * Runs a failed batch again on `retry()` with this policy before its items fail (`tries` unset:
   * until it succeeds or `fatal` says no). `giveUpAfterMs` stops once the next try would start that
   * long after the batch's first. @default no retries
   */
  retry?: RetryOptions & { giveUpAfterMs?: number };
  /** A batch failed for good (after its retries): its error and items. */
  onFailure?: (err: unknown, items: I[]) => void;
  /** Called when nothing is queued or running any more. */
  onIdle?: () => void;
}
