import { defaultLogger, type Logger } from '../log.js';
import type { NatsStreamOptions } from './nats.js';
import { StreamReader, type ReadOptions } from './reader.js';
import { validateEvent, type StreamAddress, type StreamBackend, type StreamConfig, type StreamEvent, type StreamItem } from './types.js';

export * from './types.js';

/**
 * Progress streams `lro.<op_id>` in the storage of the op's scope: publish (validated), read from any
 * seq (history then live), configure the ring, drop. The backend is `pg` or `nats`.
 */
export class ProgressStreams {
  readonly backend: StreamBackend;
  readonly #reader: StreamReader;

  /** @param opts.log where a reader's lost tail is reported. @default defaultLogger() */
  constructor(backend: StreamBackend, opts: { log?: Logger } = {}) {
    this.backend = backend;
    this.#reader = new StreamReader(backend, (opts.log ?? defaultLogger()).child({ component: 'streams', adapter: backend.name }));
  }

  /** Validates every event first: one bad event rejects the call and nothing of it is stored. */
  async publish(addr: StreamAddress, events: unknown[]): Promise<StreamEvent[]> {
    const bodies = events.map(validateEvent);
    return this.backend.append(addr, bodies);
  }

  /** Events from `fromSeq` (history, then live), one item at a time. */
  read(addr: StreamAddress, opts: ReadOptions = {}): AsyncGenerator<StreamItem> {
    return this.#reader.read(addr, opts);
  }

  /** The same items in the batches they arrive in. */
  readBatches(addr: StreamAddress, opts: ReadOptions = {}): AsyncGenerator<StreamItem[]> {
    return this.#reader.readBatches(addr, opts);
  }

  /**
   * Starts the backend's background work (watching its connection). Idempotent; reading starts it
   * too, so a process that only publishes never needs it.
   */
  start(): Promise<void> {
    return this.backend.start();
  }

  configure(addr: StreamAddress, config: StreamConfig): Promise<void> {
    return this.backend.configure(addr, config);
  }

  drop(addr: StreamAddress): Promise<void> {
    return this.backend.drop(addr);
  }

  /** Ends every reader's tail, writes what was published, and closes the backend. Idempotent. */
  async close(): Promise<void> {
    await this.#reader.close();
    await this.backend.close();
  }
}

/**
 * Streams on NATS JetStream at `url` (the NATS client is loaded only when used); the server drops
 * events older than `maxAgeS` (default 7 days, the retention of finished ops' streams).
 */
export async function openNatsStreams(url: string, opts: NatsStreamOptions = {}): Promise<ProgressStreams> {
  if (!url.startsWith('nats://')) throw new Error(`LRO_STREAMS must be "pg" or a nats:// URL, not ${JSON.stringify(url)}`);
  const { NatsStreamBackend } = await import('./nats.js');
  return new ProgressStreams(await NatsStreamBackend.connect(url, opts), { log: opts.log });
}
