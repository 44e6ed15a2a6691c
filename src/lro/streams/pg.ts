import pg from 'pg';
import { retry } from '../../shared/backoff.js';
import { RETRY } from '../../shared/defaults.js';
import { systemClock, type Clock } from '../clock.js';
import type { PgListener } from '../listener.js';
import { defaultLogger, type Logger } from '../log.js';
import { guardPool } from '../pg-pool.js';
import * as sql from '../sql/stream-events.js';
import { AppendBatcher } from './batcher.js';
import { PgFollowers } from './pg-follow.js';
import { StaleEpochError } from './types.js';
import type { EventBody, HistoryPage, StreamAddress, StreamBackend, StreamConfig, StreamEvent } from './types.js';

/** Tries of one append that keeps losing races with other writers to the same streams. */
const CONFLICT_TRIES = 21;

/**
 * The default adapter: events in Postgres (`lro_stream_events`, a ring per stream), batched inserts,
 * and one LISTEN connection per process to wake watchers.
 */
export class PgStreamBackend implements StreamBackend {
  readonly name = 'pg' as const;
  readonly #db: pg.Pool;
  /** Appends commit without waiting for the WAL flush: see the constructor. */
  readonly #appendDb: pg.Pool;
  readonly #listener: PgListener;
  readonly #clock: Clock;
  readonly #followers: PgFollowers;
  readonly #batcher: AppendBatcher;
  #listening = false;
  #closed: Promise<void> | null = null;
  #onNotify = (channel: string, payload: string) => {
    if (channel === 'lro_stream') this.#followers.changed(payload.split(','));
  };
  #onConnected = () => this.#followers.changedAll();

  /**
   * @param opts.connectionString when given, appends go through a small pool of their own whose
   *   sessions use `synchronous_commit = off`: an append commits without waiting for its WAL flush
   *   (the WAL writer flushes within ~200 ms). Progress is best effort by design; the op row, written
   *   through the main pool, stays fully durable. A database crash can lose the last fraction of a
   *   second of events, never a state change of the op itself.
   * @param opts.clock stamps events (`sqlNow()`: undefined lets the database's clock do it) and decides `trimAge`. @default systemClock
   * @param opts.log where the append pool's lost idle connections are reported. @default defaultLogger()
   */
  constructor(opts: { db: pg.Pool; listener: PgListener; connectionString?: string; clock?: Clock; log?: Logger }) {
    this.#db = opts.db;
    this.#appendDb = opts.connectionString
      ? new pg.Pool({
          connectionString: opts.connectionString,
          max: 2,
          application_name: 'lro-streams',
          options: '-c synchronous_commit=off',
        })
      : opts.db;
    if (this.#appendDb !== opts.db) {
      // An idle connection that died: the pool drops it and the next append opens another.
      const log = (opts.log ?? defaultLogger()).child({ component: 'streams', adapter: 'pg' });
      guardPool(this.#appendDb, (err) => log.warn({ err }, 'stream append connection lost'));
    }
    this.#listener = opts.listener;
    this.#followers = new PgFollowers(opts.db);
    this.#clock = opts.clock ?? systemClock;
    // One queue for every stream: appends to many streams (e.g. the summaries of a claimed batch)
    // go to Postgres in one statement.
    this.#batcher = new AppendBatcher(
      async (items) => {
        const rows = await retryConflict(() =>
          sql.streamAppend(this.#appendDb, {
            items: items.map((i) => ({ storage: i.addr.storage, stream: i.addr.name, body: i.body, epoch: i.addr.epoch })),
            now: this.#clock.sqlNow(),
          }),
        );
        return rows.map((r, i) =>
          r.seq === null ? new StaleEpochError(items[i]!.addr, r.epoch) : ({ ...items[i]!.body, seq: r.seq, ts: r.ts } as StreamEvent),
        );
      },
      { maxBatch: 1000, perStream: false, lingerMs: 5 },
    );
  }

  /**
   * Hears the listener's stream notifications and starts the listener (shared: its owner stops it).
   * Idempotent; resolves once the listener listens.
   */
  start(): Promise<void> {
    if (!this.#listening) {
      this.#listener.on('notification', this.#onNotify);
      this.#listener.on('connected', this.#onConnected);
      this.#listening = true;
    }
    return this.#listener.start();
  }

  append(addr: StreamAddress, bodies: EventBody[]): Promise<StreamEvent[]> {
    return this.#batcher.append(addr, bodies);
  }

  history(addr: StreamAddress, fromSeq: number, limit: number): Promise<HistoryPage> {
    return sql.streamHistory(this.#db, addr, fromSeq, limit);
  }

  /** Live events from the process's shared read of its followed streams (`PgFollowers`). */
  async *follow(addr: StreamAddress, fromSeq: number, signal: AbortSignal): AsyncGenerator<StreamEvent[]> {
    // Listening first: the follow's first read then sees, or is notified of, every append after it.
    await this.start();
    yield* this.#followers.follow(addr, fromSeq, signal);
  }

  configure(addr: StreamAddress, config: StreamConfig): Promise<void> {
    return sql.streamConfigure(this.#db, addr, config);
  }

  drop(addr: StreamAddress): Promise<void> {
    return sql.streamDrop(this.#db, addr);
  }

  /** @param now the time to judge ages at. @default the clock's (the database's `now()` in production) */
  trimAge(now?: Date): Promise<number> {
    return sql.streamTrimAge(this.#db, { now: now ?? this.#clock.sqlNow() });
  }

  /** Writes what was appended, stops hearing the listener and ends the append pool. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#batcher.drain();
      this.#listener.off('notification', this.#onNotify);
      this.#listener.off('connected', this.#onConnected);
      this.#listening = false;
      if (this.#appendDb !== this.#db) await this.#appendDb.end();
    })();
    return this.#closed;
  }
}

/**
 * Another writer appended to one of the same streams at the same time (unique violation), or two
 * writers deadlocked on each other's new rows: the statement did nothing; run it again.
 */
const isConflict = (err: unknown) => ['40P01', '23505'].includes((err as { code?: string }).code ?? '');

/** Runs an append again after a lost race (up to `CONFLICT_TRIES` times); any other error is thrown at once. */
function retryConflict<T>(fn: () => Promise<T>): Promise<T> {
  return retry(fn, { backoff: RETRY.conflict, tries: CONFLICT_TRIES, fatal: (err) => !isConflict(err) });
}
