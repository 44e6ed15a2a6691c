import { setTimeout as delay } from 'node:timers/promises';
import type { ProgressStreams, StreamAddress } from '../lro/streams/index.js';
import { StaleEpochError, type EventBody } from '../lro/streams/types.js';

/** Above this many unsent events, plain progress updates of a phase replace each other. */
const PRESSURE = 256;

/**
 * Sends one running op's events to its stream without ever blocking the handler: `push` only
 * queues; one write is in flight at a time and takes everything queued. Under pressure an
 * intermediate progress update of a phase is replaced by the newer one (the latest of each phase is
 * always sent); events with a message or a level, and summaries, are never dropped.
 *
 * The address carries the op's lease epoch: once the stream refuses it (another worker took the op
 * over), the refusal is reported once and everything pushed afterwards is dropped. The handler is
 * never told through `ctx.progress`; it learns of the lost lease from its AbortSignal.
 */
export class OpPublisher {
  readonly #streams: ProgressStreams;
  readonly #addr: StreamAddress;
  readonly #onError: (err: unknown) => void;
  #queue: EventBody[] = [];
  #flushing: Promise<void> | null = null;
  /** Events replaced under pressure, or dropped after a refusal (for tests and metrics). */
  dropped = 0;
  /** Set when the stream refused this writer's epoch: nothing more is sent. */
  fenced = false;

  constructor(streams: ProgressStreams, addr: StreamAddress, onError: (err: unknown) => void) {
    this.#streams = streams;
    this.#addr = addr;
    this.#onError = onError;
  }

  push(event: EventBody): void {
    if (this.fenced) {
      this.dropped++;
      return;
    }
    if (this.#queue.length >= PRESSURE && isPlain(event)) {
      const phase = event.phase;
      const i = this.#queue.findLastIndex((e) => isPlain(e) && e.phase === phase);
      if (i >= 0) {
        this.#queue[i] = event;
        this.dropped++;
        return;
      }
    }
    this.#queue.push(event);
    this.#flushing ??= this.#flush().finally(() => { this.#flushing = null; });
  }

  /** Resolves when everything pushed so far is stored. */
  async drain(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #flush(): Promise<void> {
    let retryMs = 50;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, 500);
      try {
        await this.#streams.backend.append(this.#addr, batch);
        retryMs = 50;
      } catch (err) {
        this.#onError(err);
        if (err instanceof StaleEpochError) {
          this.fenced = true; // for good: an epoch never becomes current again
          this.dropped += batch.length + this.#queue.length;
          this.#queue = [];
          return;
        }
        this.#queue.unshift(...batch);
        if (retryMs > 5000) {
          this.#queue = []; // the stream is gone for good: progress is best effort, the row keeps the summary
          return;
        }
        await delay(retryMs);
        retryMs *= 2;
      }
    }
  }
}

const isPlain = (e: EventBody): e is Extract<EventBody, { type: 'progress' }> =>
  e.type === 'progress' && e.message === undefined && e.level === undefined;
