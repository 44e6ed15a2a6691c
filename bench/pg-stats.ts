/**
 * What a benchmark window costs the server: commits of the bench database (`pg_stat_database`) and
 * WAL written (`pg_current_wal_lsn()`). Read over a connection to the server's own database, so the
 * readings are not counted in the bench database's commits.
 *
 * WAL position is cluster-wide: other databases' writes in the window (another engineer's benchmark
 * on the shared server) land in it too. `otherCommits` says how much else ran in the window.
 */
import pg from 'pg';
import { pause, serverUrl } from './lib.js';

export interface DbSnapshot {
  commits: number;
  /** Commits of every other database on the server. */
  otherCommits: number;
  lsn: string;
}

async function withServer<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The bench database's committed transactions so far (as flushed to the stats), the others', and the WAL position. */
export function dbSnapshot(dbName: string): Promise<DbSnapshot> {
  return withServer(async (c) => {
    const { rows } = await c.query(
      `SELECT coalesce(sum(xact_commit) FILTER (WHERE datname = $1), 0)::float8 AS commits,
              coalesce(sum(xact_commit) FILTER (WHERE datname IS DISTINCT FROM $1), 0)::float8 AS other,
              pg_current_wal_lsn()::text AS lsn
         FROM pg_stat_database`,
      [dbName],
    );
    return { commits: rows[0].commits, otherCommits: rows[0].other, lsn: rows[0].lsn };
  });
}

/** WAL bytes between two positions. */
export function walBytes(from: string, to: string): Promise<number> {
  return withServer(async (c) => (await c.query(`SELECT pg_wal_lsn_diff($2, $1)::float8 AS b`, [from, to])).rows[0].b);
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
