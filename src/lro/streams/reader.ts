import { setTimeout as delay } from 'node:timers/promises';
import type { StreamAddress, StreamBackend, StreamEvent, StreamItem } from './types.js';

const PAGE = 1000;

/** One reader's place in a shared tail: a bounded queue; overflow sends it back to history. */
class Subscriber {
  queue: StreamEvent[] = [];
  head = 0;
  overflow = false;
  #wake: (() => void) | null = null;
  constructor(readonly limit: number) {}

  push(e: StreamEvent): void {
    if (this.queue.length - this.head >= this.limit) {
      // A slow reader: forget its backlog (bounded memory) and let it re-read from storage.
      this.queue = [];
      this.head = 0;
      this.overflow = true;
    } else this.queue.push(e);
    this.#wake?.();
  }

  shift(): StreamEvent | undefined {
    const e = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return e;
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  next(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#wake = null;
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#wake = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** One live feed per stream per process, fanned out to every local reader. */
class Tail {
  readonly subs = new Set<Subscriber>();
  readonly #ac = new AbortController();
  constructor(backend: StreamBackend, addr: StreamAddress, lastSeq: number) {
    void (async () => {
      let retryMs = 50;
      while (!this.#ac.signal.aborted) {
        try {
          for await (const e of backend.follow(addr, lastSeq + 1, this.#ac.signal)) {
            lastSeq = e.seq; if (process.env.DBG) console.log("tail", e.seq);
            retryMs = 50;
            for (const s of this.subs) s.push(e);
          }
        } catch {
          await delay(retryMs).catch(() => {});
          retryMs = Math.min(retryMs * 2, 2000);
        }
      }
    })();
  }
  stop(): void {
    this.#ac.abort();
  }
}

/**
 * Reads a stream from any seq: stored history first, then live events from a tail shared by every
 * reader of that stream in this process, in order and without duplicates. When events the reader
 * asked for were evicted from the ring, it gets a `gap` item naming them, then goes on.
 */
export class StreamReader {
  readonly #backend: StreamBackend;
  readonly #tails = new Map<string, Promise<Tail>>();

  constructor(backend: StreamBackend) {
    this.#backend = backend;
  }

  async *read(addr: StreamAddress, opts: { fromSeq?: number; signal?: AbortSignal; maxQueue?: number } = {}): AsyncGenerator<StreamItem> {
    const key = `${addr.storage} ${addr.name}`;
    const tail = await this.#tail(key, addr);
    const sub = new Subscriber(opts.maxQueue ?? 2000);
    tail.subs.add(sub);
    let cursor = Math.max(1, opts.fromSeq ?? 1);
    let live = false;
    try {
      while (!opts.signal?.aborted) {
        if (!live || sub.overflow) {
          sub.overflow = false;
          const page = await this.#backend.history(addr, cursor, PAGE);
          const firstHeld = page.events[0]?.seq ?? page.last_seq + 1;
          if (firstHeld > cursor && cursor <= page.last_seq) {
            yield { type: 'gap', from_seq: cursor, to_seq: firstHeld - 1 };
            cursor = firstHeld;
          }
          for (const e of page.events) {
            if (e.seq < cursor) continue;
            yield e;
            cursor = e.seq + 1;
          }
          live = page.events.length < PAGE;
          continue;
        }
        while (sub.size > 0 && live && !sub.overflow) {
          const e = sub.shift()!;
          if (e.seq < cursor) continue;
          if (e.seq > cursor) {
            live = false; // something between history and the tail: read it from storage
            break;
          }
          yield e;
          cursor = e.seq + 1;
        }
        if (live && sub.size === 0 && !sub.overflow) await sub.next(opts.signal);
      }
    } finally {
      tail.subs.delete(sub);
      if (tail.subs.size === 0) {
        this.#tails.delete(key);
        tail.stop();
      }
    }
  }

  #tail(key: string, addr: StreamAddress): Promise<Tail> {
    let t = this.#tails.get(key);
    if (!t) {
      t = this.#backend.history(addr, Number.MAX_SAFE_INTEGER, 1).then((page) => new Tail(this.#backend, addr, page.last_seq));
      this.#tails.set(key, t);
      t.catch(() => this.#tails.delete(key));
    }
    return t;
  }

  close(): void {
    for (const t of this.#tails.values()) void t.then((tail) => tail.stop(), () => {});
    this.#tails.clear();
  }
}
