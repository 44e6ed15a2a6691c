/**
 * Turns concurrent single calls into batched ones: the first call is run at once; calls that arrive
 * while a batch is in flight go together in the next one, in order.
 */
export class BatchQueue<I, O> {
  readonly #run: (items: I[]) => Promise<O[]>;
  readonly #o: Required<BatchQueueOptions>;
  #queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #inFlight = 0;
  #flushes = new Set<Promise<void>>();

  constructor(run: (items: I[]) => Promise<O[]>, opts: BatchQueueOptions = {}) {
    this.#run = run;
    this.#o = { maxBatch: 500, maxInFlight: 1, lingerMs: 0, splitOnFailure: false, onIdle: () => {}, ...opts };
  }

  push(item: I): Promise<O> {
    const done = new Promise<O>((resolve, reject) => this.#queue.push({ item, resolve, reject }));
    if (this.#inFlight < this.#o.maxInFlight) {
      const flush = this.#flush().finally(() => this.#flushes.delete(flush));
      this.#flushes.add(flush);
    }
    return done;
  }

  /** Resolves when everything pushed so far has been run (or has failed). */
  async drain(): Promise<void> {
    while (this.#flushes.size > 0) await Promise.all(this.#flushes);
  }

  async #flush(): Promise<void> {
    this.#inFlight++;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#o.maxBatch);
        try {
          const out = await this.#run(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(out[i]!));
        } catch (err) {
          if (batch.length === 1 || !this.#o.splitOnFailure) batch.forEach((b) => b.reject(err));
          else await Promise.all(batch.map((b) => this.#run([b.item]).then((o) => b.resolve(o[0]!), b.reject)));
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
}

export interface BatchQueueOptions {
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
  /** Called when nothing is queued or running any more. */
  onIdle?: () => void;
}
