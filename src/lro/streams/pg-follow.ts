import type pg from 'pg';
import * as sql from '../sql/stream-events.js';
import type { StreamAddress, StreamEvent } from './types.js';

/**
 * Events per stream per read: more than a default ring, so a tail that lags a ring behind catches up
 * in one read; a stream that fills it is read again at once.
 */
const READ_PAGE = 5000;
/** Streams per statement: bounds one read's rows (and memory) when many streams lag at once. */
const STREAMS_PER_READ = 500;
/** Events a follower may have waiting before it is read for no more until it takes them. */
const MAX_WAITING = 2 * READ_PAGE;

export const keyOf = (a: StreamAddress) => `${a.storage} ${a.name}`;

/** One `follow()`: where it reads next, and what was read for it but not yet taken. */
interface Follower {
  readonly addr: StreamAddress;
  /** The next seq it wants (after everything queued). */
  cursor: number;
  batches: StreamEvent[][];
  waiting: number;
  /** Left unread while it had `MAX_WAITING` events queued: read again once it takes them. */
  stalled: boolean;
  error: unknown;
  wake: (() => void) | null;
}

/**
 * The live side of the `pg` adapter: every followed stream of the process in one place. A
 * notification marks the streams it names; one statement then reads all the marked ones (at most one
 * read in flight: notifications that arrive meanwhile wait for the next, so a burst is a few reads,
 * not one per stream per notification) and hands each follower its events.
 */
export class PgFollowers {
  readonly #db: pg.Pool;
  readonly #followers = new Map<string, Set<Follower>>();
  /** Streams to read, by key. */
  readonly #dirty = new Set<string>();
  #reading: Promise<void> | null = null;

  constructor(db: pg.Pool) {
    this.#db = db;
  }

  /** Marks streams (keys `<storage> <stream>`) as changed; those followed here are read soon. */
  changed(keys: Iterable<string>): void {
    for (const key of keys) if (this.#followers.has(key)) this.#dirty.add(key);
    this.#kick();
  }

  /** Marks every followed stream (after a reconnect anything may have been missed). */
  changedAll(): void {
    this.changed(this.#followers.keys());
  }

  /** Batches of events with seq ≥ fromSeq as they are stored, in order, until `signal` aborts. */
  async *follow(addr: StreamAddress, fromSeq: number, signal: AbortSignal): AsyncGenerator<StreamEvent[]> {
    const f: Follower = { addr, cursor: fromSeq, batches: [], waiting: 0, stalled: false, error: undefined, wake: null };
    const key = keyOf(addr);
    const set = this.#followers.get(key) ?? new Set();
    set.add(f);
    this.#followers.set(key, set);
    const onAbort = () => f.wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      this.changed([key]); // its first read: what was stored before it listened
      while (!signal.aborted) {
        if (f.error !== undefined) throw f.error;
        const batch = f.batches.shift();
        if (batch) {
          f.waiting -= batch.length;
          if (f.stalled && f.waiting < MAX_WAITING) {
            f.stalled = false;
            this.changed([key]);
          }
          yield batch;
          continue;
        }
        await new Promise<void>((r) => {
          f.wake = r;
        });
        f.wake = null;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      set.delete(f);
      if (set.size === 0 && this.#followers.get(key) === set) this.#followers.delete(key);
    }
  }

  /** Starts the read loop unless it runs; a microtask later, so that a chunk of notifications is one read. */
  #kick(): void {
    if (this.#reading || this.#dirty.size === 0) return;
    this.#reading = Promise.resolve().then(() => this.#readAll());
  }

  async #readAll(): Promise<void> {
    try {
      while (this.#dirty.size > 0) {
        const keys: string[] = [];
        for (const key of this.#dirty) {
          this.#dirty.delete(key);
          if (this.#followers.has(key)) keys.push(key);
          if (keys.length === STREAMS_PER_READ) break;
        }
        if (keys.length > 0) await this.#read(keys);
      }
    } finally {
      this.#reading = null; // in the same tick as the loop's last look at #dirty: no mark is missed
    }
  }

  /** One statement for `keys`, each read from the earliest cursor of its followers. */
  async #read(keys: string[]): Promise<void> {
    const reads = keys.map((key) => {
      let from = Infinity;
      let addr: StreamAddress | undefined;
      for (const f of this.#followers.get(key)!) {
        addr = f.addr;
        if (!f.stalled) from = Math.min(from, f.cursor);
      }
      return { key, storage: addr!.storage, stream: addr!.name, from };
    });
    const wanted = reads.filter((r) => r.from !== Infinity); // (a stream whose followers all stalled waits)
    if (wanted.length === 0) return;
    let results: StreamEvent[][];
    try {
      results = await sql.streamRead(this.#db, wanted, READ_PAGE);
    } catch (err) {
      // Every follower of these streams fails; its owner follows again from where it got to.
      for (const r of wanted) this.#followers.get(r.key)?.forEach((f) => ((f.error = err), f.wake?.()));
      return;
    }
    wanted.forEach((r, i) => {
      const events = results[i]!;
      if (events.length === READ_PAGE) this.#dirty.add(r.key);
      for (const f of this.#followers.get(r.key) ?? []) this.#deliver(f, r.from, events);
    });
  }

  /** Hands a follower the events read from `from` that it still wants. */
  #deliver(f: Follower, from: number, events: StreamEvent[]): void {
    // A follower that came (or fell behind) after the read was sent is read again for its own cursor.
    if (f.stalled || from > f.cursor || events.length === 0) return;
    const fresh = events[0]!.seq >= f.cursor ? events : events.filter((e) => e.seq >= f.cursor);
    if (fresh.length === 0) return;
    f.batches.push(fresh);
    f.waiting += fresh.length;
    f.cursor = fresh.at(-1)!.seq + 1;
    if (f.waiting >= MAX_WAITING) f.stalled = true;
    f.wake?.();
  }
}
