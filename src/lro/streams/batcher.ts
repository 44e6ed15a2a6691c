import { BatchQueue, type BatchQueueOptions } from '../batch-queue.js';
import { appendChannel, report, type AppendMessage } from '../instruments.js';
import type { EventBody, StaleEpochError, StreamAddress, StreamEvent } from './types.js';

export interface AppendRequest {
  addr: StreamAddress;
  body: EventBody;
}

/** What a write makes of one request: the stored event, or the refusal of a stale epoch. */
export type AppendOutcome = StreamEvent | StaleEpochError;

/**
 * Append batching shared by the adapters, on a `BatchQueue`: `perStream` keeps one queue (one write
 * in flight, so order holds) per stream, dropped when idle; otherwise one queue serves every stream.
 * A call's events are queued together, so a refusal rejects the whole call.
 */
export class AppendBatcher {
  readonly #write: (items: AppendRequest[]) => Promise<AppendOutcome[]>;
  readonly #opts: BatchQueueOptions & { perStream: boolean };
  readonly #queues = new Map<string, BatchQueue<AppendRequest, AppendOutcome>>();

  constructor(write: (items: AppendRequest[]) => Promise<AppendOutcome[]>, opts: BatchQueueOptions & { perStream: boolean }) {
    this.#write = write;
    this.#opts = opts;
  }

  append(addr: StreamAddress, bodies: EventBody[]): Promise<StreamEvent[]> {
    const key = this.#opts.perStream ? `${addr.storage} ${addr.name}` : '';
    let queue = this.#queues.get(key);
    if (!queue) {
      const { perStream: _, ...opts } = this.#opts;
      const created: BatchQueue<AppendRequest, AppendOutcome> = new BatchQueue(this.#write, {
        ...opts,
        onIdle: () => {
          if (this.#queues.get(key) === created) this.#queues.delete(key);
        },
      });
      this.#queues.set(key, (queue = created));
    }
    const q = queue;
    const start = performance.now();
    const written = Promise.all(bodies.map((body) => q.push({ addr, body }).then((o) => (o instanceof Error ? Promise.reject(o) : o))));
    // The append lag (handed to the batcher → committed), for a hub's metrics in this process.
    if (appendChannel.hasSubscribers) {
      void written.then(
        () => report<AppendMessage>(appendChannel, () => ({ seconds: (performance.now() - start) / 1000, events: bodies.length })),
        () => {},
      );
    }
    return written;
  }

  /** Resolves when everything appended so far is written (or failed). */
  async drain(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.drain()));
  }
}
