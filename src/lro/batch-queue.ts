/**
 * Turns concurrent single calls into batched ones: the first call is run at once; calls that arrive
 * while a batch is in flight go together in the next one. When a batch fails as a whole, its items
 * are run one by one so that only the bad one fails.
 */
export class BatchQueue<I, O> {
  readonly #run: (items: I[]) => Promise<O[]>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #inFlight = 0;

  /**
   * @param maxInFlight batches run at once: more than one lets a batch go while another waits on its
   *   commit (Postgres then flushes their WAL together)
   */
  constructor(run: (items: I[]) => Promise<O[]>, opts: { maxBatch?: number; maxInFlight?: number } = {}) {
    this.#run = run;
    this.#maxBatch = opts.maxBatch ?? 500;
    this.#maxInFlight = opts.maxInFlight ?? 1;
  }

  push(item: I): Promise<O> {
    const done = new Promise<O>((resolve, reject) => this.#queue.push({ item, resolve, reject }));
    if (this.#inFlight < this.#maxInFlight) void this.#flush();
    return done;
  }

  async #flush(): Promise<void> {
    this.#inFlight++;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const out = await this.#run(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(out[i]!));
        } catch (err) {
          if (batch.length === 1) batch[0]!.reject(err);
          else {
            await Promise.all(batch.map(async (b) => {
              try {
                b.resolve((await this.#run([b.item]))[0]!);
              } catch (e) {
                b.reject(e);
              }
            }));
          }
        }
      }
    } finally {
      this.#inFlight--;
    }
  }
}
