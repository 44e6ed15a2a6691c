/**
 * The worker-side statements on `long_running_operations` after the claim (heartbeat, complete,
 * fail, release, rescue). Part of the operations SQL module (re-exported by ./operations.ts). Every write
 * is fenced by `lease_epoch`: a worker whose lease was taken over changes nothing.
 */
import type { OpError, Operation } from '../../shared/operation.js';
import type { Db } from './operations.js';
import { preparedQuery } from './operations-prepared.js';
import { changeOps } from './operations-summaries.js';

const T = 'long_running_operations';
const NOW = (n: number) => `coalesce($${n}::timestamptz, now())`;
/** `finished_at` for a row moving to status `next` (an SQL expression): unset when queued again, else now. */
const finishedAtFor = (next: string) => `CASE WHEN ${next} = 'queued' THEN NULL ELSE t.now END`;
const CANCELED = (message = 'canceled by request') => `jsonb_build_object('code', 'canceled', 'message', '${message}')`;

export interface LeaseRef {
  op_id: string;
  epoch: number;
}

/**
 * Renews the leases of the given ops and writes a progress summary where one is given (null keeps
 * the old one). Returns the ops still held, with their cancel request: an op missing from the answer
 * was lost.
 */
export async function operationHeartbeat(
  db: Db,
  p: { leases: (LeaseRef & { summary: unknown })[]; now?: Date | null },
): Promise<{ op_id: string; cancel_requested_at: Date | null }[]> {
  const { rows } = await preparedQuery<{ op_id: string; cancel_requested_at: Date | null }>(
    db,
    'operation-heartbeat',
    `WITH t AS (SELECT ${NOW(4)} AS now),
     h AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::jsonb[]) AS h(op_id, epoch, summary))
     UPDATE ${T} o SET heartbeat_at = t.now, progress_summary = coalesce(h.summary, o.progress_summary)
     FROM h, t WHERE o.op_id = h.op_id AND o.status = 'running' AND o.lease_epoch = h.epoch
     RETURNING o.op_id, o.cancel_requested_at`,
    [
      p.leases.map((l) => l.op_id),
      p.leases.map((l) => l.epoch),
      p.leases.map((l) => (l.summary === undefined ? null : JSON.stringify(l.summary))),
      p.now ?? null,
    ],
  );
  return rows;
}

/** The error a completion records when a cancel was accepted first. */
const DISCARDED = 'canceled by request; the attempt finished after the cancel was accepted and its result was discarded';

/**
 * Running → succeeded for a batch; → canceled instead for an op whose cancel was accepted before the
 * completion took the row lock (the cancel caller was answered 200, so the op ends canceled; a cancel
 * that comes after the completion gets 409). `o.*` in SET is the row as re-read after a lock wait.
 * Returns the ops that were still held (the others were lost).
 */
export async function operationCompleteMany(
  db: Db,
  p: { done: (LeaseRef & { result: unknown; summary: unknown })[]; now?: Date | null },
): Promise<Operation[]> {
  return changeOps<Operation>(
    db,
    {
      name: 'operation-complete-many',
      ctes: `WITH t AS (SELECT ${NOW(5)} AS now),
     c AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::jsonb[], $4::jsonb[]) AS c(op_id, epoch, result, summary))`,
      dml: `UPDATE ${T} o SET status = CASE WHEN o.cancel_requested_at IS NULL THEN 'succeeded' ELSE 'canceled' END,
       result = CASE WHEN o.cancel_requested_at IS NULL THEN c.result END,
       error = CASE WHEN o.cancel_requested_at IS NOT NULL
                    THEN ${CANCELED(DISCARDED)} END,
       finished_at = t.now, updated_at = t.now,
       heartbeat_at = t.now, progress_summary = coalesce(c.summary, o.progress_summary)
     FROM c, t WHERE o.op_id = c.op_id AND o.status = 'running' AND o.lease_epoch = c.epoch
     RETURNING o.*`,
    },
    [
      p.done.map((d) => d.op_id),
      p.done.map((d) => d.epoch),
      p.done.map((d) => JSON.stringify(d.result ?? null)),
      p.done.map((d) => (d.summary === undefined ? null : JSON.stringify(d.summary))),
      p.now ?? null,
    ],
  );
}

/**
 * A failed attempt: back to queued at `now + backoff_ms` while attempts are left and the error is
 * retryable, else failed; canceled instead when a cancel was requested. `last_error` always keeps it.
 */
export async function operationFail(
  db: Db,
  p: LeaseRef & { error: OpError; retryable: boolean; backoff_ms: number; summary?: unknown; now?: Date | null },
): Promise<Operation | null> {
  // `n` locks the row (FOR UPDATE): a plain read would decide from the statement's snapshot, and a
  // cancel that committed while this statement waited on the row lock would be lost (the op requeued
  // and run again). Locked, the read waits too and sees the cancel (test/integrity.test.ts).
  const rows = await changeOps<Operation>(
    db,
    {
      name: 'operation-fail',
      ctes: `WITH t AS (SELECT ${NOW(6)} AS now),
     n AS (SELECT op_id, CASE WHEN cancel_requested_at IS NOT NULL THEN 'canceled'
                              WHEN $4::boolean AND attempt < max_attempts THEN 'queued' ELSE 'failed' END AS next
             FROM ${T} WHERE op_id = $1 FOR UPDATE)`,
      dml: `UPDATE ${T} o SET status = n.next, last_error = $3::jsonb, progress_summary = coalesce($7::jsonb, o.progress_summary),
       error = CASE WHEN n.next = 'queued' THEN NULL ELSE $3::jsonb END,
       finished_at = ${finishedAtFor('n.next')}, updated_at = t.now,
       run_at = CASE WHEN n.next = 'queued' THEN t.now + make_interval(secs => $5::double precision / 1000) ELSE o.run_at END,
       owner_id = CASE WHEN n.next = 'queued' THEN NULL ELSE o.owner_id END,
       owner_type = CASE WHEN n.next = 'queued' THEN NULL ELSE o.owner_type END
     FROM n, t WHERE o.op_id = n.op_id AND o.status = 'running' AND o.lease_epoch = $2 RETURNING o.*`,
    },
    [
      p.op_id,
      p.epoch,
      JSON.stringify(p.error),
      p.retryable,
      p.backoff_ms,
      p.now ?? null,
      p.summary === undefined ? null : JSON.stringify(p.summary),
    ],
  );
  return rows[0] ?? null;
}

/** Running → canceled after the handler stopped on a cancel request. */
export async function operationFinishCanceled(db: Db, p: LeaseRef & { error: OpError; now?: Date | null }): Promise<Operation | null> {
  const rows = await changeOps<Operation>(
    db,
    {
      ctes: '',
      dml: `UPDATE ${T} SET status = 'canceled', error = $3::jsonb, finished_at = ${NOW(4)}, updated_at = ${NOW(4)}
      WHERE op_id = $1 AND status = 'running' AND lease_epoch = $2 AND cancel_requested_at IS NOT NULL
      RETURNING *`,
    },
    [p.op_id, p.epoch, JSON.stringify(p.error), p.now ?? null],
  );
  return rows[0] ?? null;
}

/**
 * Gives leases back on forced shutdown: queued again at once, the attempt not counted; canceled
 * instead when a cancel was accepted (it must not run again). `o.*` in SET is the row as re-read
 * after a lock wait, so a cancel that commits meanwhile is seen.
 */
export async function operationRelease(db: Db, p: { leases: LeaseRef[]; now?: Date | null }): Promise<Operation[]> {
  return changeOps<Operation>(
    db,
    {
      ctes: `WITH t AS (SELECT ${NOW(3)} AS now),
     r AS (SELECT * FROM unnest($1::uuid[], $2::int[]) AS r(op_id, epoch))`,
      dml: `UPDATE ${T} o SET status = CASE WHEN o.cancel_requested_at IS NULL THEN 'queued' ELSE 'canceled' END,
       attempt = CASE WHEN o.cancel_requested_at IS NULL THEN greatest(o.attempt - 1, 0) ELSE o.attempt END,
       error = CASE WHEN o.cancel_requested_at IS NOT NULL THEN ${CANCELED()} END,
       finished_at = CASE WHEN o.cancel_requested_at IS NOT NULL THEN t.now END,
       lease_epoch = o.lease_epoch + 1,
       owner_id = CASE WHEN o.cancel_requested_at IS NULL THEN NULL ELSE o.owner_id END,
       owner_type = CASE WHEN o.cancel_requested_at IS NULL THEN NULL ELSE o.owner_type END,
       heartbeat_at = NULL, run_at = t.now, updated_at = t.now
     FROM r, t WHERE o.op_id = r.op_id AND o.status = 'running' AND o.lease_epoch = r.epoch RETURNING o.*`,
    },
    [p.leases.map((l) => l.op_id), p.leases.map((l) => l.epoch), p.now ?? null],
  );
}

/**
 * Stale leases (no heartbeat for `lease_s`): requeued under a new epoch, or failed when the attempts
 * are used up, or canceled when a cancel was requested. Returns what became of each. `s` decides from
 * the locked row (FOR UPDATE re-reads a row a cancel changed after this statement's snapshot), and
 * skips a row a cancel still holds: the next pass sees that cancel.
 */
export async function operationRescue(db: Db, p: { now?: Date | null; limit: number }): Promise<Operation[]> {
  return changeOps<Operation>(
    db,
    {
      ctes: `WITH t AS (SELECT ${NOW(1)} AS now),
     s AS (SELECT op_id, CASE WHEN cancel_requested_at IS NOT NULL THEN 'canceled'
                              WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END AS next
             FROM ${T}, t WHERE status = 'running' AND heartbeat_at < t.now - make_interval(secs => lease_s)
             LIMIT $2 FOR UPDATE SKIP LOCKED),
     e AS (SELECT o.op_id, jsonb_build_object('code', 'lease_expired', 'attempt', o.attempt, 'at', t.now,
             'message', format('worker %s stopped heartbeating for %s s', o.owner_id, o.lease_s)) AS err
             FROM ${T} o JOIN s USING (op_id), t)`,
      dml: `UPDATE ${T} o SET status = s.next, lease_epoch = o.lease_epoch + 1, last_error = e.err,
       error = CASE s.next WHEN 'failed' THEN e.err
                           WHEN 'canceled' THEN ${CANCELED()} END,
       finished_at = ${finishedAtFor('s.next')}, run_at = t.now, updated_at = t.now,
       owner_id = CASE WHEN s.next = 'queued' THEN NULL ELSE o.owner_id END,
       owner_type = CASE WHEN s.next = 'queued' THEN NULL ELSE o.owner_type END,
       heartbeat_at = CASE WHEN s.next = 'queued' THEN NULL ELSE o.heartbeat_at END
     FROM s, e, t WHERE o.op_id = s.op_id AND e.op_id = s.op_id AND o.status = 'running'
     RETURNING o.*`,
    },
    [p.now ?? null, p.limit],
  );
}
