import { retry } from '../../shared/backoff.js';
import { RETRY } from '../../shared/defaults.js';
import type { Logger } from '../log.js';
import { Subscriber } from './subscriber.js';
import type { HistoryPage, StreamAddress, StreamBackend, StreamEvent, StreamItem } from './types.js';

const PAGE = 1000;

/** Events a tail keeps in memory for readers catching up (so a herd of them does not hit storage). */
const RECENT = 10_000;
/**
 * Events all the tails of a process keep together: with many streams followed at once each keeps a
 * share (1,000 streams: 100 each), not 10,000 each (ten million events, gigabytes of heap).
 */
const RECENT_TOTAL = 100_000;
/** What a tail keeps however many there are: a reader that missed the hand-over still finds it here. */
const RECENT_MIN = 50;

/**
 * One live feed per stream per process, fanned out to every local reader. `start()` begins following
 * the backend; `stop()` ends it and waits for the follow to wind down.
 */
class Tail {
  readonly subs = new Set<Subscriber>();
  readonly #backend: StreamBackend;
  readonly #addr: StreamAddress;
  readonly #log: Logger;
  readonly #ac = new AbortController();
  #lastSeq: number;
  #running: Promise<void> | null = null;
  #recent: StreamEvent[][] = [];
  #recentCount = 0;
  /** How many events to keep (it changes with the number of tails). */
  readonly #keep: () => number;

  constructor(backend: StreamBackend, addr: StreamAddress, lastSeq: number, log: Logger, keep: () => number) {
    this.#backend = backend;
    this.#keep = keep;
    this.#addr = addr;
    this.#log = log;
    this.#lastSeq = lastSeq;
  }

  /** Starts following the stream after `lastSeq`. Idempotent. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Ends the follow and waits for it. Idempotent. */
  async stop(): Promise<void> {
    this.#ac.abort();
    await this.#running;
  }

  /**
   * Follows until stopped: a follow that fails (its storage away) is retried with backoff, from the
   * event after the last one delivered. One that delivered events before failing starts the backoff
   * again from its base.
   */
  async #run(): Promise<void> {
    const signal = this.#ac.signal;
    while (!signal.aborted) {
      await retry(() => this.#follow(signal), {
        backoff: RETRY.connection,
        signal,
        // The first failure and every tenth: a long outage is heard without a line per reader per retry.
        onRetry: (err, attempt, delayMs) =>
          this.#log[attempt % 10 === 1 ? 'warn' : 'debug'](
            { err, attempt, delay_ms: delayMs, stream: this.#addr.name },
            'stream tail lost; following again',
          ),
      }).catch(() => {}); // ends only when stopped
    }
  }

  /** One follow of the backend; resolves when it ends after delivering events (or when stopped). */
  async #follow(signal: AbortSignal): Promise<void> {
    let delivered = false;
    try {
      for await (const batch of this.#backend.follow(this.#addr, this.#lastSeq + 1, signal)) {
        if (batch.length === 0) continue;
        delivered = true;
        this.#lastSeq = batch.at(-1)!.seq;
        this.#remember(batch);
        for (const s of this.subs) s.push(batch);
      }
    } catch (err) {
      if (!delivered) throw err;
      this.#log.warn({ err, stream: this.#addr.name }, 'stream tail lost; following again');
    }
  }

  #remember(batch: StreamEvent[]): void {
    this.#recent.push(batch);
    this.#recentCount += batch.length;
    const keep = this.#keep();
    while (this.#recentCount - this.#recent[0]!.length >= keep) this.#recentCount -= this.#recent.shift()!.length;
  }

  /** The contiguous run of remembered events from `cursor` on, or null when memory does not reach back that far. */
  since(cursor: number): StreamEvent[] | null {
    const first = this.#recent[0]?.[0];
    if (!first || first.seq > cursor) return null;
    const out: StreamEvent[] = [];
    for (const batch of this.#recent) {
      for (const e of batch) {
        if (e.seq < cursor) continue;
        if (e.seq !== cursor) return out.length ? out : null; // a hole (the tail fell behind the ring)
        out.push(e);
        cursor++;
      }
    }
    return out;
  }
}

export interface ReadOptions {
  /** The first seq wanted. @default 1 */
  fromSeq?: number;
  signal?: AbortSignal;
  /**
   * Events a reader may have waiting before it is sent back to storage (batches are shared by all
   * readers, so this is cheap). @default 10000
   */
  maxQueue?: number;
}

/**
 * Reads a stream from any seq: stored history first, then live events from a tail shared by every
 * reader of that stream in this process, in order and without duplicates. When events the reader
 * asked for were evicted from the ring, it gets a `gap` item naming them, then goes on.
 */
export class StreamReader {
  readonly #backend: StreamBackend;
  readonly #log: Logger;
  readonly #tails = new Map<string, Promise<Tail>>();
  /** History reads in flight: readers at the same place share one (a herd of readers is one query). */
  readonly #reads = new Map<string, Promise<HistoryPage>>();
  /** Tails whose last reader left, still winding down (`close()` waits for them). */
  readonly #stopping = new Set<Promise<void>>();

  constructor(backend: StreamBackend, log: Logger) {
    this.#backend = backend;
    this.#log = log;
  }

  /** Items one at a time. */
  async *read(addr: StreamAddress, opts: ReadOptions = {}): AsyncGenerator<StreamItem> {
    for await (const batch of this.readBatches(addr, opts)) yield* batch;
  }

  /** Items in the batches they arrive in (cheaper for a reader that writes them out together). */
  async *readBatches(addr: StreamAddress, opts: ReadOptions = {}): AsyncGenerator<StreamItem[]> {
    const key = `${addr.storage} ${addr.name}`;
    const pending = this.#tail(key, addr);
    const tail = await pending;
    const sub = new Subscriber(opts.maxQueue ?? 10_000);
    tail.subs.add(sub);
    const onAbort = () => sub.interrupt();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let cursor = Math.max(1, opts.fromSeq ?? 1);
    let live = false;
    try {
      while (!opts.signal?.aborted) {
        if (!live || sub.overflow) {
          // A reader that overflowed is slow and reads what storage still holds (and hears what the
          // ring dropped); one that only missed the hand-over to the tail catches up from memory.
          const slow = sub.overflow;
          sub.overflow = false;
          const remembered = slow ? null : tail.since(cursor);
          if (remembered) {
            // Catching up from the tail's memory: what it has is contiguous up to its newest event.
            if (remembered.length > 0) {
              cursor = remembered.at(-1)!.seq + 1;
              yield remembered;
            }
            live = true;
            continue;
          }
          const page = await this.#history(key, addr, cursor);
          const out: StreamItem[] = [];
          const firstHeld = page.events[0]?.seq ?? page.last_seq + 1;
          if (firstHeld > cursor && cursor <= page.last_seq) {
            out.push({ type: 'gap', from_seq: cursor, to_seq: firstHeld - 1 });
            cursor = firstHeld;
          }
          for (const e of page.events) {
            if (e.seq < cursor) continue;
            out.push(e);
            cursor = e.seq + 1;
          }
          live = page.events.length < PAGE;
          if (out.length > 0) yield out;
          continue;
        }
        const batch = sub.take();
        if (!batch) {
          await sub.next(opts.signal);
          continue;
        }
        const fresh = batch[0]!.seq >= cursor ? batch : batch.filter((e) => e.seq >= cursor); // (a copy only when it overlaps)
        if (fresh.length === 0) continue;
        if (fresh[0]!.seq > cursor) {
          live = false; // something between history and the tail: read it from storage
          continue;
        }
        const contiguous = fresh.every((e, i) => e.seq === cursor + i);
        if (!contiguous) {
          live = false;
          continue;
        }
        cursor = fresh.at(-1)!.seq + 1;
        yield fresh;
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      tail.subs.delete(sub);
      if (tail.subs.size === 0) {
        if (this.#tails.get(key) === pending) this.#tails.delete(key); // (not a newer tail, after a close)
        this.#stop(tail);
      }
    }
  }

  #history(key: string, addr: StreamAddress, cursor: number): Promise<HistoryPage> {
    const readKey = `${key} ${cursor}`;
    let read = this.#reads.get(readKey);
    if (!read) {
      read = this.#backend.history(addr, cursor, PAGE).finally(() => this.#reads.delete(readKey));
      this.#reads.set(readKey, read);
    }
    return read;
  }

  #tail(key: string, addr: StreamAddress): Promise<Tail> {
    let t = this.#tails.get(key);
    if (!t) {
      t = this.#backend.history(addr, Number.MAX_SAFE_INTEGER, 1).then((page) => {
        const tail = new Tail(this.#backend, addr, page.last_seq, this.#log, this.#keep);
        tail.start();
        return tail;
      });
      this.#tails.set(key, t);
      t.catch(() => this.#tails.delete(key));
    }
    return t;
  }

  /** Each tail's share of `RECENT_TOTAL`. */
  readonly #keep = () => Math.min(RECENT, Math.max(RECENT_MIN, Math.floor(RECENT_TOTAL / Math.max(1, this.#tails.size))));

  #stop(tail: Tail): void {
    const stopping = tail.stop().finally(() => this.#stopping.delete(stopping));
    this.#stopping.add(stopping);
  }

  /** Stops every tail and waits for them to wind down. Idempotent. */
  async close(): Promise<void> {
    const pending = [...this.#tails.values()];
    this.#tails.clear();
    for (const t of await Promise.allSettled(pending)) if (t.status === 'fulfilled') this.#stop(t.value);
    await Promise.all(this.#stopping);
  }
}
