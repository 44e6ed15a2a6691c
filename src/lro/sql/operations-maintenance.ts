/**
 * Statements of the maintenance services on `long_running_operations` that the operations module does
 * not have. The rescue, expiry and "events dropped" statements stay where they are
 * (`operationRescue` in ./operations-worker.ts, `operationExpire` and `operationMarkEventsDropped` in
 * ./operations.ts).
 */
import type { Operation } from '../../shared/operation.js';
import type { Db } from './operations.js';

/**
 * Finished ops whose streams have been kept `retention_s` past `finished_at` and are not dropped yet,
 * oldest first. The cutoff is taken by the statement's clock (`now`, else the database's), like
 * every other time decision in SQL, not by the caller's wall clock.
 */
export async function operationRetentionDue(db: Db, p: { retention_s: number; limit: number; now?: Date | null }): Promise<Operation[]> {
  const { rows } = await db.query<Operation>(
    `SELECT * FROM long_running_operations
      WHERE finished_at IS NOT NULL AND events_dropped_at IS NULL
        AND finished_at < coalesce($1::timestamptz, now()) - make_interval(secs => $2)
      ORDER BY finished_at LIMIT $3`,
    [p.now ?? null, p.retention_s, p.limit],
  );
  return rows;
}
