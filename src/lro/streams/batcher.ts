import type { EventBody, StreamAddress, StreamEvent } from './types.js';

export interface AppendRequest {
  addr: StreamAddress;
  body: EventBody;
}

interface Pending extends AppendRequest {
  resolve: (e: StreamEvent) => void;
  reject: (err: unknown) => void;
}

/**
 * Append batching shared by the adapters: the first append is written at once; appends that arrive
 * while a write is in flight go together in the next write, in order. `perStream` keeps one queue
 * (and one write in flight) per stream; otherwise one queue serves every stream.
 */
export class AppendBatcher {
  readonly #write: (items: AppendRequest[]) => Promise<StreamEvent[]>;
  readonly #maxBatch: number;
  readonly #perStream: boolean;
  readonly #lingerMs: number;
  readonly #queues = new Map<string, { items: Pending[]; flushing: boolean }>();
  readonly #flushes = new Set<Promise<void>>();

  /**
   * @param opts.lingerMs after a write, wait this long for more appends before the next one (fewer,
   *   larger writes under load; the first append after a quiet spell is still written at once)
   */
  constructor(write: (items: AppendRequest[]) => Promise<StreamEvent[]>, opts: { maxBatch: number; perStream: boolean; lingerMs?: number }) {
    this.#write = write;
    this.#maxBatch = opts.maxBatch;
    this.#perStream = opts.perStream;
    this.#lingerMs = opts.lingerMs ?? 0;
  }

  append(addr: StreamAddress, bodies: EventBody[]): Promise<StreamEvent[]> {
    const key = this.#perStream ? `${addr.storage} ${addr.name}` : '';
    let q = this.#queues.get(key);
    if (!q) this.#queues.set(key, (q = { items: [], flushing: false }));
    const queue = q;
    const done = bodies.map((body) => new Promise<StreamEvent>((resolve, reject) => queue.items.push({ addr, body, resolve, reject })));
    if (!queue.flushing) {
      const flush = this.#flush(key, queue).finally(() => this.#flushes.delete(flush));
      this.#flushes.add(flush);
    }
    return Promise.all(done);
  }

  /** Resolves when everything appended so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.#flushes.size > 0) await Promise.all(this.#flushes);
  }

  async #flush(key: string, q: { items: Pending[]; flushing: boolean }): Promise<void> {
    q.flushing = true;
    try {
      while (q.items.length > 0) {
        const batch = q.items.splice(0, this.#maxBatch);
        try {
          const events = await this.#write(batch);
          batch.forEach((p, i) => p.resolve(events[i]!));
        } catch (err) {
          batch.forEach((p) => p.reject(err));
        }
        if (this.#lingerMs > 0 && q.items.length < this.#maxBatch) await new Promise((r) => setTimeout(r, this.#lingerMs));
      }
    } finally {
      q.flushing = false;
      if (q.items.length === 0) this.#queues.delete(key);
    }
  }
}
