import type pg from 'pg';

/**
 * The advisory lock of each pass that one process at a time may run, named. Distinct ids, so the
 * rescuer never waits behind a long stream retention pass and vice versa. `7_203_114_001` is the
 * migration lock (`src/db/migrate.ts`); the rescuer keeps the id of the former single maintenance
 * lock, so a hub of the previous release and a new one never rescue at once.
 */
export const LOCKS = {
  /** Stale leases → queued / failed / canceled (`Rescuer`). */
  rescuer: 7_203_114_002,
  /** Queued ops past `expires_at` → expired (`Expirer`). */
  expirer: 7_203_114_003,
  /** Finished ops' streams past retention dropped, events past their stream's max age trimmed (`StreamRetention`). */
  streamRetention: 7_203_114_004,
} as const;

/**
 * Runs `fn` in a transaction that holds the transaction-scoped advisory lock `key`, or returns null
 * at once when another session holds it (so exactly one process does the work at a time).
 */
export function withAdvisoryXactLock<T>(db: pg.Pool, key: number, fn: (client: pg.PoolClient) => Promise<T>): Promise<T | null> {
  return inLockedXact(db, 'SELECT pg_try_advisory_xact_lock($1) AS ok', [key], fn);
}

/**
 * Runs `fn` while this process holds the advisory lock named `name` (any text: e.g. a bucket's URL),
 * waiting for whoever holds it: processes on any machine that share the database take turns.
 */
export async function withNamedLock<T>(db: pg.Pool, name: string, fn: () => Promise<T>): Promise<T> {
  return (await inLockedXact(db, "SELECT pg_advisory_xact_lock(hashtextextended('lro:' || $1, 0)), true AS ok", [name], fn))!;
}

async function inLockedXact<T>(db: pg.Pool, lock: string, values: unknown[], fn: (client: pg.PoolClient) => Promise<T>): Promise<T | null> {
  const client = await db.connect();
  // A checked-out client has no listener of the pool's: without one, the server ending the session
  // between two statements (a restart) would be an uncaught 'error' and end the process.
  const onError = () => {};
  client.on('error', onError);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ ok: boolean }>(lock, values);
    if (!rows[0]?.ok) {
      await client.query('ROLLBACK');
      return null;
    }
    const value = await fn(client);
    await client.query('COMMIT');
    return value;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => {
      broken = e;
    });
    throw err;
  } finally {
    // A client that cannot even roll back is dead: released with the error, the pool drops it. It
    // keeps the no-op listener: ending a dead connection may still emit an 'error' nobody would hear.
    if (!broken) client.off('error', onError);
    client.release(broken);
  }
}
