import { BatchQueue } from '../lro/batch-queue.js';
import type { ProgressStreams, StreamAddress } from '../lro/streams/index.js';
import { StaleEpochError, type EventBody } from '../lro/streams/types.js';
import { RETRY } from '../shared/defaults.js';

/** Above this many unsent events, plain progress updates of a phase replace each other. */
const PRESSURE = 256;
/** Events per append at most. */
const MAX_BATCH = 500;
/** A stream that refuses appends this long is taken as gone: progress is best effort, the row keeps the summary. */
const GIVE_UP_MS = 5000;

/**
 * Sends one running op's events to its stream without ever blocking the handler: `push` only
 * queues (a `BatchQueue`); one write is in flight at a time and takes everything queued. Under
 * pressure an intermediate progress update of a phase is replaced by the newer one (the latest of
 * each phase is always sent); events with a message or a level, and summaries, are never dropped.
 * A failed append is retried with `RETRY.connection` backoff for about `GIVE_UP_MS`.
 *
 * The address carries the op's lease epoch: once the stream refuses it (another worker took the op
 * over), the refusal is reported once and everything pushed afterwards is dropped. The handler is
 * never told through `ctx.progress`; it learns of the lost lease from its AbortSignal.
 */
export class OpPublisher {
  readonly #queue: BatchQueue<EventBody, undefined>;
  /** Events replaced under pressure, or dropped after a refusal (for tests and metrics). */
  dropped = 0;
  /** Set when the stream refused this writer's epoch: nothing more is sent. */
  fenced = false;

  constructor(streams: ProgressStreams, addr: StreamAddress, onError: (err: unknown) => void) {
    this.#queue = new BatchQueue(
      async (batch) => {
        await streams.backend.append(addr, batch);
        return batch.map(() => undefined);
      },
      {
        maxBatch: MAX_BATCH,
        retry: {
          backoff: RETRY.connection,
          giveUpAfterMs: GIVE_UP_MS,
          fatal: (err) => err instanceof StaleEpochError, // an epoch never becomes current again
          onRetry: (err) => onError(err),
        },
        onFailure: (err, batch) => {
          onError(err);
          const cleared = this.#queue.clear();
          if (!(err instanceof StaleEpochError)) return; // the stream is gone: what was queued goes too
          this.fenced = true;
          this.dropped += batch.length + cleared;
        },
      },
    );
  }

  push(event: EventBody): void {
    if (this.fenced) {
      this.dropped++;
      return;
    }
    if (this.#queue.pending >= PRESSURE && isPlain(event) && this.#queue.replaceLast((e) => isPlain(e) && e.phase === event.phase, event)) {
      this.dropped++;
      return;
    }
    this.#queue.add(event);
  }

  /** Resolves when everything pushed so far is stored. */
  drain(): Promise<void> {
    return this.#queue.drain();
  }
}

const isPlain = (e: EventBody): e is Extract<EventBody, { type: 'progress' }> =>
  e.type === 'progress' && e.message === undefined && e.level === undefined;
