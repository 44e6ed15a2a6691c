import type { EventBody, StreamAddress, StreamEvent } from './types.js';

interface Pending {
  body: EventBody;
  resolve: (e: StreamEvent) => void;
  reject: (err: unknown) => void;
}

/**
 * Per-stream append batching shared by the adapters: the first append is written at once; appends
 * that arrive while a write is in flight go together in the next write, in order.
 */
export class AppendBatcher {
  readonly #write: (addr: StreamAddress, bodies: EventBody[]) => Promise<StreamEvent[]>;
  readonly #maxBatch: number;
  readonly #queues = new Map<string, { addr: StreamAddress; items: Pending[]; flushing: boolean }>();

  constructor(write: (addr: StreamAddress, bodies: EventBody[]) => Promise<StreamEvent[]>, maxBatch = 500) {
    this.#write = write;
    this.#maxBatch = maxBatch;
  }

  append(addr: StreamAddress, bodies: EventBody[]): Promise<StreamEvent[]> {
    const key = `${addr.storage} ${addr.name}`;
    let q = this.#queues.get(key);
    if (!q) this.#queues.set(key, (q = { addr, items: [], flushing: false }));
    const queue = q;
    const done = bodies.map((body) => new Promise<StreamEvent>((resolve, reject) => queue.items.push({ body, resolve, reject })));
    if (!queue.flushing) void this.#flush(key);
    return Promise.all(done);
  }

  async #flush(key: string): Promise<void> {
    const q = this.#queues.get(key)!;
    q.flushing = true;
    try {
      while (q.items.length > 0) {
        const batch = q.items.splice(0, this.#maxBatch);
        try {
          const events = await this.#write(q.addr, batch.map((p) => p.body));
          batch.forEach((p, i) => p.resolve(events[i]!));
        } catch (err) {
          batch.forEach((p) => p.reject(err));
        }
      }
    } finally {
      q.flushing = false;
      this.#queues.delete(key);
    }
  }
}
