import type pg from 'pg';
import type { PgListener } from '../listener.js';
import * as sql from '../sql/stream-events.js';
import { AppendBatcher } from './batcher.js';
import type { EventBody, HistoryPage, StreamAddress, StreamBackend, StreamConfig, StreamEvent } from './types.js';

const keyOf = (a: StreamAddress) => `${a.storage} ${a.name}`;

/**
 * The default adapter: events in Postgres (`lro_stream_events`, a ring per stream), batched inserts,
 * and one LISTEN connection per process to wake watchers.
 */
export class PgStreamBackend implements StreamBackend {
  readonly name = 'pg' as const;
  readonly #db: pg.Pool;
  readonly #listener: PgListener;
  readonly #watchers = new Map<string, Set<() => void>>();
  readonly #batcher: AppendBatcher;
  #onNotify = (channel: string, payload: string) => {
    if (channel !== 'lro_stream') return;
    for (const key of payload.split(',')) this.#watchers.get(key)?.forEach((fn) => fn());
  };
  #onConnected = () => this.#watchers.forEach((set) => set.forEach((fn) => fn()));

  constructor(opts: { db: pg.Pool; listener: PgListener }) {
    this.#db = opts.db;
    this.#listener = opts.listener;
    this.#listener.on('notification', this.#onNotify);
    this.#listener.on('connected', this.#onConnected);
    // One queue for every stream: appends to many streams (e.g. the summaries of a claimed batch)
    // go to Postgres in one statement.
    this.#batcher = new AppendBatcher(async (items) => {
      const rows = await retryDeadlock(() =>
        sql.streamAppend(this.#db, items.map((i) => ({ storage: i.addr.storage, stream: i.addr.name, body: i.body }))));
      return rows.map((r, i) => ({ ...items[i]!.body, seq: r.seq, ts: r.ts }) as StreamEvent);
    }, { maxBatch: 1000, perStream: false });
  }

  append(addr: StreamAddress, bodies: EventBody[]): Promise<StreamEvent[]> {
    return this.#batcher.append(addr, bodies);
  }

  history(addr: StreamAddress, fromSeq: number, limit: number): Promise<HistoryPage> {
    return sql.streamHistory(this.#db, addr, fromSeq, limit);
  }

  async *follow(addr: StreamAddress, fromSeq: number, signal: AbortSignal): AsyncGenerator<StreamEvent> {
    let changed = true;
    let wake: (() => void) | null = null;
    const onChange = () => {
      changed = true;
      wake?.();
    };
    const key = keyOf(addr);
    const set = this.#watchers.get(key) ?? new Set();
    set.add(onChange);
    this.#watchers.set(key, set);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      await this.#listener.start();
      let cursor = fromSeq;
      while (!signal.aborted) {
        if (!changed) await new Promise<void>((r) => { wake = r; });
        wake = null;
        if (signal.aborted) break;
        changed = false;
        for (;;) {
          const page = await this.history(addr, cursor, 1000);
          for (const e of page.events) yield e;
          const last = page.events.at(-1);
          if (last) cursor = last.seq + 1;
          if (page.events.length < 1000) break;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      set.delete(onChange);
      if (set.size === 0) this.#watchers.delete(key);
    }
  }

  configure(addr: StreamAddress, config: StreamConfig): Promise<void> {
    return sql.streamConfigure(this.#db, addr, config);
  }

  drop(addr: StreamAddress): Promise<void> {
    return sql.streamDrop(this.#db, addr);
  }

  async close(): Promise<void> {
    this.#listener.off('notification', this.#onNotify);
    this.#listener.off('connected', this.#onConnected);
  }
}

/** Two processes appending to the same streams can deadlock on the stream rows: try again. */
async function retryDeadlock<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || i >= 5) throw err;
    }
  }
}
