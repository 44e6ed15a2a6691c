/**
 * What a benchmark window costs the server: commits of the bench database (`pg_stat_database`) and
 * WAL written (`pg_current_wal_lsn()`). Read over a connection to the server's own database, so the
 * readings are not counted in the bench database's commits.
 *
 * WAL position is cluster-wide: other databases' writes in the window (another engineer's benchmark
 * on the shared server) land in it too. `walBytesOf` counts only the bench database's records.
 */
import pg from 'pg';
import { pause, serverUrl } from './lib.js';

async function withServer<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface DbSnapshot {
  commits: number;
  /** Commits of every database on the server, by name. */
  all: Record<string, number>;
  /** WAL flushed so far (a commit is flushed when it returns: synchronous_commit=on). */
  lsn: string;
}

/** The bench database's committed transactions so far (as reported to the stats), every database's, and the WAL position. */
export function dbSnapshot(dbName: string): Promise<DbSnapshot> {
  return withServer(async (c) => {
    const { rows } = await c.query(
      `SELECT datname, xact_commit::float8 AS commits, pg_current_wal_flush_lsn()::text AS lsn
         FROM pg_stat_database WHERE datname IS NOT NULL`,
    );
    const all = Object.fromEntries(rows.map((r) => [r.datname, r.commits]));
    return { commits: all[dbName] ?? 0, all, lsn: rows[0].lsn };
  });
}

/** Commits of the other databases between two snapshots (a database created meanwhile counts whole; one dropped, not at all). */
export function otherCommits(dbName: string, a: DbSnapshot, b: DbSnapshot): number {
  return Object.entries(b.all).reduce((sum, [name, n]) => (name === dbName ? sum : sum + n - (a.all[name] ?? 0)), 0);
}

/** WAL bytes between two positions, cluster-wide (whatever else the server wrote meanwhile included). */
export function walBytes(from: string, to: string): Promise<number> {
  return withServer(async (c) => (await c.query(`SELECT pg_wal_lsn_diff($2, $1)::float8 AS b`, [from, to])).rows[0].b);
}

/**
 * WAL bytes between two positions that belong to the database at `url`: the records that touch its
 * relations (their full-page images included) and the commit records of the transactions that wrote
 * them. Read with pg_walinspect, installed into that database (nothing on the server's other
 * databases changes). Page headers and alignment padding are not in it (a few % of the raw diff).
 */
export async function walBytesOf(url: string, from: string, to: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
    const { rows } = await c.query(
      `WITH r AS MATERIALIZED (SELECT xid, record_length, block_ref FROM pg_get_wal_records_info($1, $2)),
       me AS (SELECT '/' || oid || '/' AS tag FROM pg_database WHERE datname = current_database()),
       mine AS (SELECT r.* FROM r, me WHERE strpos(r.block_ref, me.tag) > 0),
       xids AS (SELECT DISTINCT xid FROM mine WHERE xid::text <> '0')
       SELECT coalesce(sum(record_length), 0)::float8 AS b FROM r
        WHERE strpos(r.block_ref, (SELECT tag FROM me)) > 0 OR r.xid::text IN (SELECT xid::text FROM xids)`,
      [from, to],
    );
    return rows[0].b;
  } finally {
    await c.end();
  }
}

/**
 * Keeps the server's WAL from now on until `release()` (or until this process's connection ends):
 * a temporary physical replication slot, so that a checkpoint in the window (other engineers'
 * writes fill max_wal_size fast) cannot remove the segments `walBytesOf` reads. Temporary: it is
 * dropped with its session, whatever happens to this process.
 */
export async function reserveWal(): Promise<{ release(): Promise<void> }> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  c.on('error', () => {});
  await c.query(`SELECT pg_create_physical_replication_slot('bench_wal_' || pg_backend_pid(), true, true)`);
  return { release: () => c.end() };
}

/** Client connections to `dbName` still open (a backend flushes its pending stats as it exits). */
function clientBackends(dbName: string): Promise<number> {
  return withServer(
    async (c) =>
      (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`, [dbName]))
        .rows[0].n,
  );
}

/**
 * Resolves once every client backend of `dbName` has exited. A backend reports its commits to
 * `pg_stat_database` at most once a second while busy and up to 10 s late when idle (PostgreSQL 15's
 * PGSTAT_MIN_INTERVAL / PGSTAT_IDLE_INTERVAL), but always on exit: a count read after this is complete.
 */
export async function backendsGone(dbName: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while ((await clientBackends(dbName)) > 0) {
    if (performance.now() > deadline) throw new Error(`connections to ${dbName} still open after ${timeoutMs} ms`);
    await pause(20);
  }
}
