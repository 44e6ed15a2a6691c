/**
 * Statements that change ops, and the summaries they append. Through a pool marked with
 * `appendSummariesThrough` (an Lro whose progress streams are the `pg` adapter's), each such
 * statement also appends every changed op's `summary` event to its stream (summaryAppend), so a
 * state change and its summary commit together; through any other, it is the statement alone and
 * OpEvents publishes the summaries after the commit (NATS), or nobody does (no streams).
 */
import type pg from 'pg';
import { retry } from '../../shared/backoff.js';
import { RETRY } from '../../shared/defaults.js';
import type { Db } from './operations.js';
import { appendChannel, report, type AppendMessage } from '../instruments.js';
import { preparedQuery } from './operations-prepared.js';
import { summaryAppend } from './stream-events.js';

/** Pools and their clients whose op statements append summaries. */
const appending = new WeakSet<object>();

/** Op statements through `pool` (and the clients it hands out) append the ops' summaries from now on. */
export function appendSummariesThrough(pool: pg.Pool): void {
  appending.add(pool);
  pool.on('connect', (client) => appending.add(client));
}

/** Whether op statements through `db` append summaries (their DML must then return every column). */
export const appendsSummaries = (db: Db): boolean => appending.has(db);

/** Tries of a statement whose summaries keep losing the race for a seq to another writer of the stream. */
const CONFLICT_TRIES = 20;

/** A summary's seq was taken by another writer of its stream (the statement changed nothing). */
const lostSeq = (err: unknown) => {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === 'lro_stream_events_pkey';
};

export interface OpsStatement {
  /** A named prepared statement (hot paths); omit to send the text each time. */
  name?: string;
  /** The statement's CTEs: '' or 'WITH a AS (...), b AS (...)'. */
  ctes: string;
  /** The INSERT or UPDATE of ops, `RETURNING o.*` (every column: a summary needs them; see appendsSummaries). */
  dml: string;
  /** What the caller gets of each changed row. @default '*' */
  columns?: string;
  /** The final SELECT's ORDER BY, over the changed rows `u` and the statement's CTEs. */
  orderBy?: string;
  /** More FROM items of the final SELECT (joined to `u`), e.g. ' JOIN c USING (op_id)'. */
  join?: string;
  /** The changed ops are new (an insert): their streams start at seq 1 (see summaryAppend). */
  fresh?: boolean;
  /**
   * The whole final SELECT, instead of one built from `columns`, `join` and `orderBy`; it must join
   * `summaries` (a FROM item, or '') to `u`.
   */
  select?: (summaries: string) => string;
}

/**
 * Runs a statement that changes ops and returns the changed rows. A summary that lost its seq to
 * another writer of the same stream fails the statement, which changed nothing: it runs again, and
 * its fresh snapshot sees that writer's events. (Inside a transaction the caller's transaction is
 * aborted instead, and the error goes to the caller.)
 */
export async function changeOps<R extends pg.QueryResultRow>(db: Db, s: OpsStatement, values: unknown[]): Promise<R[]> {
  const summaries = appending.has(db);
  const tail = summaries ? summaryAppend('u', { fresh: s.fresh ?? false }) : { ctes: '', from: '' };
  const select =
    s.select?.(tail.from) ?? `SELECT ${s.columns ?? 'u.*'} FROM u${s.join ?? ''}${tail.from}${s.orderBy ? ` ORDER BY ${s.orderBy}` : ''}`;
  const text = `${s.ctes ? `${s.ctes},` : 'WITH'} u AS (${s.dml})${tail.ctes}
     ${select}`;
  const res = await retry(
    () => (s.name ? preparedQuery<R>(db, summaries ? `${s.name}-s` : s.name, text, values) : db.query<R>(text, values)),
    { backoff: RETRY.conflict, tries: CONFLICT_TRIES, fatal: (err) => !lostSeq(err) },
  );
  // Appended with the change itself: no lag (a hub's metrics count them with the adapter's appends).
  if (summaries && res.rows.length > 0) report<AppendMessage>(appendChannel, () => ({ seconds: 0, events: res.rows.length }));
  return res.rows;
}
