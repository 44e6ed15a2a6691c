/**
 * The statements behind a hub's `/metrics`, one function each. Each reads only active rows (through
 * the partial indexes on `status`) or a bounded window of recently finished ones, so a scrape costs
 * the same with a million finished ops as with none (plans and timings in the comments).
 */
import type { Db } from './operations.js';

const T = 'long_running_operations';

/**
 * Queued and running ops by kind. Two scans of the partial indexes `lro_claim_idx` and
 * `lro_running_idx` (a UNION ALL: `status IN (…)` would not match either index's predicate).
 */
export async function operationCountActive(db: Db): Promise<{ kind: string; status: string; n: number }[]> {
  const { rows } = await db.query<{ kind: string; status: string; n: number }>(
    `SELECT kind, 'queued' AS status, count(*)::int AS n FROM ${T} WHERE status = 'queued' GROUP BY kind
     UNION ALL
     SELECT kind, 'running' AS status, count(*)::int AS n FROM ${T} WHERE status = 'running' GROUP BY kind`,
  );
  return rows;
}

/**
 * Per routing: queued ops, and the age of the oldest one that is due (`run_at` passed: a retry
 * waiting out its backoff is not late yet). An index-only scan of `lro_claim_idx`.
 */
export async function operationQueueStats(
  db: Db,
  p: { now?: Date | null } = {},
): Promise<{ routing: string; queued: number; oldest_due_s: number }[]> {
  const { rows } = await db.query<{ routing: string; queued: number; oldest_due_s: number | null }>(
    `WITH t AS (SELECT coalesce($1::timestamptz, now()) AS now)
     SELECT routing, count(*)::int AS queued,
            coalesce(extract(epoch FROM t.now - min(run_at) FILTER (WHERE run_at <= t.now)), 0)::float8 AS oldest_due_s
       FROM ${T}, t WHERE status = 'queued' GROUP BY routing, t.now`,
    [p.now ?? null],
  );
  return rows.map((r) => ({ ...r, oldest_due_s: r.oldest_due_s ?? 0 }));
}

/** A position in the order (finished_at, op_id); `finished_us` is µs since the epoch, as text. */
export interface FinishedMark {
  finished_us: string;
  op_id: string;
}

export interface FinishedOp extends FinishedMark {
  kind: string;
  status: string;
  attempt: number;
  /** Enqueue → first start, when it started. */
  wait_s: number | null;
  /** First start → finish, when it started. */
  run_s: number | null;
}

/**
 * Ops that finished after `after` and at least `settle_s` before `now`, oldest first, at most
 * `limit`. The window closes `settle_s` behind the clock because `finished_at` is the writing
 * transaction's start: a completion that began before a scrape and committed after it must still
 * fall in a later window. A range scan of `lro_events_retention_idx` (finished, stream not yet
 * dropped: every op of the last `LRO_RETENTION_S`); the mark is kept in µs, which a JS Date cannot hold.
 */
export async function operationFinishedSince(
  db: Db,
  p: { after: FinishedMark; settle_s: number; limit: number; now?: Date | null },
): Promise<FinishedOp[]> {
  const { rows } = await db.query<FinishedOp>(
    `WITH t AS (SELECT coalesce($4::timestamptz, now()) - make_interval(secs => $3::float8) AS until,
                       'epoch'::timestamptz + $1::bigint * interval '1 microsecond' AS after)
     SELECT (extract(epoch FROM finished_at) * 1000000)::bigint::text AS finished_us, op_id, kind, status, attempt,
            extract(epoch FROM started_at - created_at)::float8 AS wait_s,
            extract(epoch FROM finished_at - started_at)::float8 AS run_s
       FROM ${T}, t
      WHERE finished_at IS NOT NULL AND events_dropped_at IS NULL
        AND finished_at >= t.after AND (finished_at, op_id) > (t.after, $2::uuid) AND finished_at <= t.until
      ORDER BY finished_at, op_id LIMIT $5`,
    [p.after.finished_us, p.after.op_id, p.settle_s, p.now ?? null, p.limit],
  );
  return rows;
}
