import type pg from 'pg';

/**
 * Makes a pool safe against its server going away: an idle client's error is reported to `onIdleError`
 * (the pool drops that client), and every client gets a listener of its own from the moment it
 * connects. pg-pool takes its idle listener off a client when it is checked out and its query adds
 * one only a tick later; a session the server ends in between (a restart terminates them all at once)
 * emitted an 'error' nobody heard, which ends the process. Errors still reach the query they belong to.
 */
export function guardPool<P extends pg.Pool>(pool: P, onIdleError: (err: Error) => void): P {
  pool.on('error', onIdleError);
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
