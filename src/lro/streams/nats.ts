import { randomUUID } from 'node:crypto';
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { retry } from '../../shared/backoff.js';
import { DEFAULTS, RETRY } from '../../shared/defaults.js';
import { systemClock, type Clock } from '../clock.js';
import { defaultLogger, type Logger } from '../log.js';
import { appendChannel, report, type AppendMessage } from '../instruments.js';
import { AppendBatcher, type AppendOutcome, type AppendRequest } from './batcher.js';
import { AckedPublisher } from './nats-acks.js';
import { followSubject } from './nats-follow.js';
import {
  EPOCH_HEADER,
  EXPECTED_LAST_SUBJECT_SEQ,
  JS_STREAM,
  SUBJECTS,
  WRITE_HEADER,
  apiCode,
  judge,
  subjectHistory,
  subjectLast,
  subjectOf,
  subjectTrim,
  type Judged,
  SubjectPositions,
  type SubjectState,
} from './nats-subjects.js';
import { DEFAULT_STREAM_CONFIG } from './types.js';
import type { EventBody, HistoryPage, StreamAddress, StreamBackend, StreamConfig, StreamEvent } from './types.js';

export interface NatsStreamOptions {
  /** Events older than this are dropped by the server (stream-wide, on its clock). @default DEFAULTS.retentionS (7 days) */
  maxAgeS?: number;
  /** Stamps events and decides `trimAge`. @default systemClock */
  clock?: Clock;
  /** Where disconnects and appends retried through them are reported. @default defaultLogger() */
  log?: Logger;
}

const WRONG_LAST_SEQUENCE = 10071;
/** How long a write waits for its ack before it is retried. */
const ACK_TIMEOUT_MS = 5000;
/** Lost races for a subject's next position in a row before a write backs off like a failure. */
const MAX_RACES = 60;

/**
 * The `nats` adapter (for scale): JetStream with `max_msgs_per_subject` as the ring. A message holds
 * a batch of events (one under light load, many under pressure); seqs are contiguous per subject and
 * kept so across writers by `expect.lastSubjectSequence`, which also refuses a retry of a message that
 * landed (its ack lost in a reconnect): the writer then finds its write id on the subject's last
 * message. Reads use ordered consumers. Works with 2.9.
 *
 * Fencing is a real refusal, not a filter on read: every message carries the subject's high-water
 * epoch in a header, and a write judges its events against the epoch of the subject's last message.
 * The same `expect.lastSubjectSequence` that keeps seqs contiguous makes that judgement exact: a
 * writer that has not seen a newer message is rejected by the server, reads it, and judges again.
 */
export class NatsStreamBackend implements StreamBackend {
  readonly name = 'nats' as const;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #acks: AckedPublisher;
  readonly #state = new SubjectPositions();
  readonly #configs = new Map<string, StreamConfig>();
  readonly #batcher = new AppendBatcher((items) => this.#write(items), {
    maxBatch: 200,
    perStream: true,
  });
  readonly #reconnectListeners = new Set<() => void>();
  readonly #clock: Clock;
  readonly #log: Logger;
  /** Tells this writer's messages from another's with the same seqs (write ids must differ). */
  readonly #writer = randomUUID().slice(0, 8);
  /** Numbers this writer's writes: a write id is `<writer>.<n>`, the same through its retries. */
  #writes = 0;
  /** The watch of the connection's status (reconnects), from `start()` until the connection closes. */
  #statusLoop: Promise<void> | null = null;
  #closed: Promise<void> | null = null;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, opts: NatsStreamOptions) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.#acks = new AckedPublisher(nc, ACK_TIMEOUT_MS);
    this.#clock = opts.clock ?? systemClock;
    this.#log = (opts.log ?? defaultLogger()).child({ component: 'streams', adapter: 'nats' });
  }

  /** Watches the connection for reconnects (after one, live readers catch up from history). Idempotent. */
  async start(): Promise<void> {
    this.#statusLoop ??= (async () => {
      for await (const s of this.#nc.status()) {
        if (s.type === 'disconnect') this.#log.warn({ server: s.server }, 'NATS disconnected; reconnecting');
        if (s.type === 'reconnect') {
          this.#log.info({ server: s.server }, 'NATS reconnected');
          this.#reconnectListeners.forEach((fn) => fn());
        }
      }
    })();
  }

  /** Connects and makes sure the JetStream stream exists with `opts.maxAgeS`. */
  static async connect(url: string, opts: NatsStreamOptions = {}): Promise<NatsStreamBackend> {
    // noAsyncTraces: the client otherwise captures a stack for every request, in case it fails; that
    // was a third of its CPU per publish (44 → 29 µs, 20,000 publishes, 40 in flight).
    const nc = await connect({ servers: url, name: 'lro', maxReconnectAttempts: -1, reconnectTimeWait: 200, noAsyncTraces: true });
    const jsm = await jetstreamManager(nc);
    const config = {
      name: JS_STREAM,
      subjects: [SUBJECTS],
      storage: StorageType.File,
      max_msgs_per_subject: DEFAULT_STREAM_CONFIG.max_msgs,
      duplicate_window: 120_000_000_000,
      max_age: (opts.maxAgeS ?? DEFAULTS.retentionS) * 1_000_000_000,
    };
    const existing = await jsm.streams.info(JS_STREAM).catch(() => null);
    if (!existing) await jsm.streams.add(config);
    else if (existing.config.max_age !== config.max_age)
      await jsm.streams.update(JS_STREAM, { ...existing.config, max_age: config.max_age });
    return new NatsStreamBackend(nc, jsm, opts);
  }

  append(addr: StreamAddress, bodies: EventBody[]): Promise<StreamEvent[]> {
    return this.#batcher.append(addr, bodies);
  }

  /**
   * Each item's event as seq 1 of its subject, expected empty (no read first), every publish in
   * flight at once: no per-stream queue, retry loop or judgement per event, which made the first
   * summaries of a 1,000-op create cost more client CPU than its insert. One whose subject this
   * process has written already, or that fails (a lost race, no ack), goes the way of `append`.
   */
  appendFirst(items: AppendRequest[]): Promise<StreamEvent[]>[] {
    const ts = this.#ts();
    const start = performance.now();
    // One write id for them all: it tells our message from another's on one subject, and each
    // subject gets one message of this call. So one set of headers serves every epoch alike.
    const writeId = `${this.#writer}.${++this.#writes}`;
    const byEpoch = new Map<number, MsgHdrs>();
    const headersOf = (epoch: number) => {
      let h = byEpoch.get(epoch);
      if (!h) {
        byEpoch.set(epoch, (h = headers()));
        h.set(EPOCH_HEADER, String(epoch));
        h.set(WRITE_HEADER, writeId);
        h.set(EXPECTED_LAST_SUBJECT_SEQ, '0');
      }
      return h;
    };
    const writes = items.map(({ addr, body }) => {
      const subject = subjectOf(addr);
      if (this.#state.get(subject) || this.#configs.has(subject)) return this.append(addr, [body]);
      const events = [{ ...body, seq: 1, ts } as StreamEvent];
      const epoch = addr.epoch ?? 0;
      const h = headersOf(epoch);
      const stored = (lastStreamSeq: number) => {
        if ((this.#state.get(subject)?.lastStreamSeq ?? 0) < lastStreamSeq)
          this.#state.remember(subject, { lastSeq: 1, lastStreamSeq, epoch });
        return events;
      };
      return this.#acks.publish(subject, JSON.stringify(events), h).then(
        (ack) => stored(ack.seq),
        async () => {
          // Ours may have landed with its ack lost: then it is the subject's last message (or was).
          const last = await subjectLast(this.#jsm, subject).catch(() => null);
          return last?.msgId === writeId ? stored(last.state.lastStreamSeq) : this.append(addr, [body]);
        },
      );
    });
    // The append lag, as the batcher reports it, once for them all (a hub's metrics in this process).
    if (appendChannel.hasSubscribers) {
      void Promise.allSettled(writes).then(() =>
        report<AppendMessage>(appendChannel, () => ({ seconds: (performance.now() - start) / 1000, events: items.length })),
      );
    }
    return writes;
  }

  /**
   * One message for a batch of one subject's events. Retried (same msgID, same seqs) while the server
   * is away, up to `DEFAULTS.appendGiveUpMs`; a lost race for the subject's next position is not
   * a failure: the batch is judged again after the other writer's message and sent at once.
   */
  #write(items: AppendRequest[]): Promise<AppendOutcome[]> {
    const subject = subjectOf(items[0]!.addr);
    let state: SubjectState | undefined = this.#state.get(subject);
    let batch: Judged | undefined;
    let writeId = '';
    return retry(
      async () => {
        if (!state) state = (await subjectLast(this.#jsm, subject)).state;
        if (!batch) {
          batch = judge(items, state, this.#ts());
          writeId = `${this.#writer}.${++this.#writes}`;
        }
        for (let raced = 0; ; raced++) {
          if (batch.events.length === 0) return batch.outcomes; // every event refused: nothing to write
          try {
            const h = headers();
            h.set(EPOCH_HEADER, String(batch.epoch));
            h.set(WRITE_HEADER, writeId);
            h.set(EXPECTED_LAST_SUBJECT_SEQ, String(state.lastStreamSeq));
            const ack = await this.#acks.publish(subject, JSON.stringify(batch.events), h);
            state = { lastSeq: batch.events.at(-1)!.seq, lastStreamSeq: ack.seq, epoch: batch.epoch };
            this.#state.remember(subject, state);
            const cfg = this.#configs.get(subject);
            if (cfg && cfg.max_msgs < DEFAULT_STREAM_CONFIG.max_msgs) {
              await this.#jsm.streams.purge(JS_STREAM, { filter: subject, keep: cfg.max_msgs });
            }
            return batch.outcomes;
          } catch (err) {
            if (apiCode(err) !== WRONG_LAST_SEQUENCE || raced >= MAX_RACES) throw err;
            // Another writer got there first, or our own message landed but its ack was lost.
            const last = await subjectLast(this.#jsm, subject);
            state = last.state;
            this.#state.remember(subject, state);
            if (last.msgId === writeId) return batch.outcomes;
            batch = judge(items, state, this.#ts());
            writeId = `${this.#writer}.${++this.#writes}`;
          }
        }
      },
      {
        backoff: RETRY.connection,
        deadline: Date.now() + DEFAULTS.appendGiveUpMs,
        onRetry: (err, attempt, delayMs) =>
          this.#log[attempt % 10 === 1 ? 'warn' : 'debug'](
            // the first and every tenth
            { err, attempt, delay_ms: delayMs, subject },
            'stream append failed; retrying',
          ),
      },
    );
  }

  /** The time events are stamped with: the one clock's. */
  #ts(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  history(addr: StreamAddress, fromSeq: number, limit: number): Promise<HistoryPage> {
    return subjectHistory(this.#js, this.#jsm, subjectOf(addr), fromSeq, limit);
  }

  /** Live events from a core subscription on the subject, caught up from history (see followSubject). */
  async *follow(addr: StreamAddress, fromSeq: number, signal: AbortSignal): AsyncGenerator<StreamEvent[]> {
    await this.start();
    const source = {
      nc: this.#nc,
      reconnects: this.#reconnectListeners,
      history: (from: number, limit: number) => this.history(addr, from, limit),
    };
    yield* followSubject(source, subjectOf(addr), fromSeq, signal);
  }

  async configure(addr: StreamAddress, config: StreamConfig): Promise<void> {
    this.#configs.set(subjectOf(addr), config);
  }

  /**
   * Drops events older than their stream's `max_age_s` as of `now` (default: the clock's time),
   * keeping each stream's newest message so seqs go on; returns how many. Streams configured through
   * this backend only (their config lives in this process, as for `max_msgs`); the stream-wide
   * `max_age` is applied by the server itself, on its own clock.
   */
  async trimAge(now?: Date): Promise<number> {
    const at = now?.getTime() ?? this.#clock.now();
    let dropped = 0;
    for (const [subject, cfg] of this.#configs) {
      if (cfg.max_age_s !== undefined) dropped += await subjectTrim(this.#js, this.#jsm, subject, at - cfg.max_age_s * 1000);
    }
    return dropped;
  }

  async drop(addr: StreamAddress): Promise<void> {
    const subject = subjectOf(addr);
    await this.#jsm.streams.purge(JS_STREAM, { filter: subject });
    this.#state.delete(subject);
    this.#configs.delete(subject);
  }

  /** Writes what was appended, closes the connection and waits for the status watch to end. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#batcher.drain();
      this.#acks.close();
      await this.#nc.drain().catch(() => this.#nc.close());
      await this.#statusLoop;
    })();
    return this.#closed;
  }
}
