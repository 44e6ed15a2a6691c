/**
 * Every SQL statement on `long_running_operations`, one function each, named table-then-verb.
 * Transitions are guarded UPDATEs; a function returns the rows it changed and callers turn
 * "zero rows" into a typed error. `now` is injectable: production passes nothing and trusts the
 * database clock, tests pin it.
 */
import type pg from 'pg';
import type { OpError, Operation } from '../../shared/operation.js';
import { preparedQuery } from './operations-prepared.js';
import { changeOps } from './operations-summaries.js';

export type Db = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

const T = 'long_running_operations';
const NOW = (n: number) => `coalesce($${n}::timestamptz, now())`;

export interface OperationInsertParams {
  kind: string;
  scope_type: string;
  scope_id: string;
  routing: string;
  input: unknown;
  created_by: string | null;
  max_attempts: number;
  lease_s: number;
  priority: number;
  dedupe_key: string | null;
  parent_id: string | null;
  ttl_s: number | null;
  now?: Date | null;
  /**
   * Eager start: the op is inserted already claimed by this worker (running, attempt 1, epoch 1) when
   * its routing has nothing queued; else it is queued as usual. The worker holds a free slot for it.
   */
  owner_id?: string;
  owner_type?: 'hub' | 'host';
}

const INSERT_COLUMNS = `op_id, kind, scope_type, scope_id, routing, input, created_by, max_attempts, lease_s,
  priority, dedupe_key, parent_id, created_at, updated_at, run_at, expires_at,
  status, owner_id, owner_type, attempt, lease_epoch, heartbeat_at, started_at`;
const INSERT_ROWS = `jsonb_to_recordset($1::jsonb) AS r(op_id uuid, kind text, scope_type text, scope_id text, routing text,
  input jsonb, created_by text, max_attempts int, lease_s int, priority int, dedupe_key text, parent_id uuid, ttl_s int,
  now timestamptz, owner_id text, owner_type text)`;
/**
 * Per row, its time `t.now` and whether it starts claimed (`e.eager`, see OperationInsertParams.owner_id):
 * only while nothing is queued in its routing (one probe of lro_claim_idx), so an eager start never
 * passes an op that waits, whatever its priority or account.
 */
const INSERT_LATERALS = `LATERAL (SELECT coalesce(r.now, now()) AS now) t,
  LATERAL (SELECT r.owner_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM ${T} q WHERE q.status = 'queued' AND q.routing = r.routing) AS eager) e`;
const INSERT_VALUES = `coalesce(r.op_id, gen_random_uuid()), r.kind, r.scope_type, r.scope_id, r.routing, r.input, r.created_by,
  r.max_attempts, r.lease_s, r.priority, r.dedupe_key, r.parent_id, t.now, t.now, t.now, t.now + make_interval(secs => r.ttl_s),
  CASE WHEN e.eager THEN 'running' ELSE 'queued' END, CASE WHEN e.eager THEN r.owner_id END,
  CASE WHEN e.eager THEN r.owner_type END, e.eager::int, e.eager::int, CASE WHEN e.eager THEN t.now END,
  CASE WHEN e.eager THEN t.now END`;
const INSERT_TAIL = `ON CONFLICT (scope_type, scope_id, kind, dedupe_key)
  WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running') DO NOTHING RETURNING *`;
const insertColumns = (returning: InsertReturning) => (returning === 'op_id' ? 'u.op_id' : 'u.*');

/** What an insert returns: the whole rows, or only their ids (a bulk create that needs no more: no 30 columns parsed per row). */
type InsertReturning = 'row' | 'op_id';
type Inserted<R extends InsertReturning> = R extends 'row' ? Operation : Pick<Operation, 'op_id'>;

/**
 * Inserts many ops in one statement (one notification). An op whose dedupe key an active op already
 * holds is skipped: it is missing from the answer. Give `op_id`s to match the answer to the input.
 */
export async function operationInsertMany<R extends InsertReturning = 'row'>(
  db: Db,
  ops: (OperationInsertParams & { op_id?: string })[],
  returning: R = 'row' as R,
): Promise<Inserted<R>[]> {
  return changeOps<Inserted<R>>(
    db,
    {
      name: `operation-insert-many-${returning}`,
      ctes: '',
      dml: `INSERT INTO ${T} (${INSERT_COLUMNS}) SELECT ${INSERT_VALUES}
              FROM ${INSERT_ROWS}, ${INSERT_LATERALS}
            ${INSERT_TAIL}`,
      columns: insertColumns(returning),
      fresh: true,
    },
    [JSON.stringify(ops)],
  );
}

/**
 * Like operationInsertMany, and each account's ops beyond its cap of `max_active` active ops are
 * skipped too: `lro_admit` (sql/005) counts them under a per-account lock held to the commit, so
 * concurrent creates cannot overshoot. Ops with no `created_by` (the admin's) are never capped.
 * It costs the server about twice the plain statement (measured with 1-row inserts), so batches
 * with nothing to cap take the plain one.
 */
export async function operationInsertManyCapped<R extends InsertReturning = 'row'>(
  db: Db,
  ops: (OperationInsertParams & { op_id?: string })[],
  p: { max_active: number },
  returning: R = 'row' as R,
): Promise<Inserted<R>[]> {
  const wanted = new Map<string, number>();
  for (const op of ops) if (op.created_by !== null) wanted.set(op.created_by, (wanted.get(op.created_by) ?? 0) + 1);
  return changeOps<Inserted<R>>(
    db,
    {
      ctes: `WITH r AS (SELECT r.*, row_number() OVER (PARTITION BY r.created_by) AS nth FROM ${INSERT_ROWS}),
     admit AS (SELECT * FROM lro_admit($2::text[], $3::int[], $4))`,
      dml: `INSERT INTO ${T} (${INSERT_COLUMNS}) SELECT ${INSERT_VALUES}
       FROM r LEFT JOIN admit a ON a.account = r.created_by, ${INSERT_LATERALS}
      WHERE r.created_by IS NULL OR r.nth <= a.admitted
     ${INSERT_TAIL}`,
      columns: insertColumns(returning),
      fresh: true,
    },
    [JSON.stringify(ops), [...wanted.keys()], [...wanted.values()], p.max_active],
  );
}

/** How many of an account's ops are active (queued or running), counting no further than `limit`. */
export async function operationCountActiveByCreator(db: Db, p: { created_by: string; limit: number }): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${T}
       WHERE created_by = $1 AND status IN ('queued', 'running') LIMIT $2) a`,
    [p.created_by, p.limit],
  );
  return rows[0]!.n;
}

export async function operationGetActiveByDedupe(
  db: Db,
  p: { scope_type: string; scope_id: string; kind: string; dedupe_key: string },
): Promise<Operation | null> {
  const { rows } = await db.query<Operation>(
    `SELECT * FROM ${T} WHERE scope_type = $1 AND scope_id = $2 AND kind = $3 AND dedupe_key = $4
       AND status IN ('queued', 'running')`,
    [p.scope_type, p.scope_id, p.kind, p.dedupe_key],
  );
  return rows[0] ?? null;
}

export async function operationGet(db: Db, opId: string): Promise<Operation | null> {
  // Prepared: the wait path reads the op on each `lro_done` (0.14–0.21 → 0.10–0.12 ms a call, 1,000 calls).
  const { rows } = await preparedQuery<Operation>(db, 'operation-get', `SELECT * FROM ${T} WHERE op_id = $1`, [opId]);
  return rows[0] ?? null;
}

export interface OperationListParams {
  scope_type?: string;
  scope_id?: string;
  kind?: string;
  status?: string[];
  include_dismissed?: boolean;
  /** Only ops in these scopes (a caller's scopes), and those routed to a host among them; absent means any scope. */
  scopes?: { type: string; id: string }[];
  /** Keyset cursor: rows strictly older than (created_at in µs since the epoch, op_id). */
  before?: { created_us: string; op_id: string };
  limit: number;
}

/** Newest first, stable under concurrent inserts thanks to the (created_at, op_id) keyset. */
export async function operationList(db: Db, p: OperationListParams): Promise<(Operation & { cursor_us: string })[]> {
  const { rows } = await db.query<Operation & { cursor_us: string }>(
    `SELECT *, (extract(epoch FROM created_at) * 1000000)::bigint::text AS cursor_us FROM ${T}
      WHERE ($1::text IS NULL OR scope_type = $1) AND ($2::text IS NULL OR scope_id = $2)
        AND ($3::text IS NULL OR kind = $3) AND ($4::text[] IS NULL OR status = ANY($4))
        AND ($5::boolean OR dismissed_at IS NULL)
        AND ($6::bigint IS NULL
             OR (created_at, op_id) < ('epoch'::timestamptz + $6::bigint * interval '1 microsecond', $7::uuid))
        AND ($9::text[] IS NULL OR (scope_type, scope_id) IN (SELECT * FROM unnest($9::text[], $10::text[]))
             -- a host in the caller's scopes also brings the ops routed to it, whoever's scope they are in
             OR routing IN (SELECT 'host:' || s.id FROM unnest($9::text[], $10::text[]) AS s(type, id) WHERE s.type = 'host'))
      ORDER BY created_at DESC, op_id DESC LIMIT $8`,
    [
      p.scope_type ?? null,
      p.scope_id ?? null,
      p.kind ?? null,
      p.status ?? null,
      p.include_dismissed ?? false,
      p.before?.created_us ?? null,
      p.before?.op_id ?? null,
      p.limit,
      p.scopes?.map((x) => x.type) ?? null,
      p.scopes?.map((x) => x.id) ?? null,
    ],
  );
  return rows;
}

/** Queued → canceled at once; running → cancel_requested_at set (the worker finishes the job). */
export async function operationCancel(db: Db, p: { op_id: string; error: OpError; now?: Date | null }): Promise<Operation | null> {
  const rows = await changeOps<Operation>(
    db,
    {
      ctes: `WITH t AS (SELECT ${NOW(3)} AS now)`,
      dml: `UPDATE ${T} o SET
       status = CASE WHEN o.status = 'queued' THEN 'canceled' ELSE o.status END,
       finished_at = CASE WHEN o.status = 'queued' THEN t.now END,
       error = CASE WHEN o.status = 'queued' THEN $2::jsonb END,
       cancel_requested_at = coalesce(o.cancel_requested_at, t.now),
       updated_at = t.now
     FROM t WHERE o.op_id = $1 AND o.status IN ('queued', 'running') RETURNING o.*`,
    },
    [p.op_id, JSON.stringify(p.error), p.now ?? null],
  );
  return rows[0] ?? null;
}

export async function operationDismiss(db: Db, p: { op_id: string; now?: Date | null }): Promise<Operation | null> {
  const { rows } = await db.query<Operation>(
    `UPDATE ${T} SET dismissed_at = coalesce(dismissed_at, ${NOW(2)}), updated_at = ${NOW(2)}
      WHERE op_id = $1 AND status IN ('succeeded', 'failed', 'canceled', 'expired') RETURNING *`,
    [p.op_id, p.now ?? null],
  );
  return rows[0] ?? null;
}

/** Queued ops past `expires_at` → expired. Returns them. */
export async function operationExpire(db: Db, p: { now?: Date | null; limit: number }): Promise<Operation[]> {
  return changeOps<Operation>(
    db,
    {
      ctes: `WITH t AS (SELECT ${NOW(1)} AS now),
     due AS (SELECT op_id FROM ${T}, t WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= t.now
             ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      dml: `UPDATE ${T} o SET status = 'expired', finished_at = t.now, updated_at = t.now,
       error = jsonb_build_object('code', 'expired', 'message', 'the op was still queued when it expired')
     FROM due, t WHERE o.op_id = due.op_id AND o.status = 'queued' RETURNING o.*`,
    },
    [p.now ?? null, p.limit],
  );
}

export async function operationMarkEventsDropped(db: Db, p: { op_ids: string[]; now?: Date | null }): Promise<void> {
  await db.query(`UPDATE ${T} SET events_dropped_at = ${NOW(2)} WHERE op_id = ANY($1::uuid[])`, [p.op_ids, p.now ?? null]);
}

export { operationClaim, type ClaimParams } from './operations-claim.js';
export {
  operationHeartbeat,
  operationCompleteMany,
  operationFail,
  operationFinishCanceled,
  operationRelease,
  operationRescue,
  type LeaseRef,
} from './operations-worker.js';
