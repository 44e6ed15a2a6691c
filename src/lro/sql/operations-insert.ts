/**
 * The INSERTs of `long_running_operations` (creates), beside the rest of its statements in
 * operations.ts: a bulk create's hot path, its rows sent as one array literal per column.
 */
import type { Operation } from '../../shared/operation.js';
import type { Db } from './operations.js';
import { appendsSummaries, changeOps } from './operations-summaries.js';

const T = 'long_running_operations';

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
/** The columns of the rows `r` and their types, in parameter order ($1..$16: insertRow's order). */
const ROW_COLUMNS = [
  ['op_id', 'uuid'],
  ['kind', 'text'],
  ['scope_type', 'text'],
  ['scope_id', 'text'],
  ['routing', 'text'],
  ['input', 'jsonb'],
  ['created_by', 'text'],
  ['max_attempts', 'int'],
  ['lease_s', 'int'],
  ['priority', 'int'],
  ['dedupe_key', 'text'],
  ['parent_id', 'uuid'],
  ['ttl_s', 'int'],
  ['now', 'timestamptz'],
  ['owner_id', 'text'],
  ['owner_type', 'text'],
] as const;
const DEDUPE_KEY = ROW_COLUMNS.findIndex(([column]) => column === 'dedupe_key');
/** The rows `r` as a select list, each column's parameter `$n` of its type read by `param`. */
const rowSource = (param: (n: number, type: string) => string) =>
  `(SELECT ${ROW_COLUMNS.map(([column, type], i) => `${param(i + 1, type)} AS ${column}`).join(', ')}) r`;
/**
 * The rows `r`, one array per column ($1..$16). Arrays, not one jsonb array of objects: parsing that
 * jsonb (its keys sorted, object by object) and taking it apart cost a quarter of the server's time
 * of a 1,000-op insert (perf); text arrays are read at a fraction of it. Unnested in the select
 * list, which zips them row by row, not by `unnest(a, b, …)` in FROM, which first copies every row
 * into a tuplestore: 25.8 → 21.0 ms per 1,000 (EXPLAIN ANALYZE, medians of 30 alternating).
 */
const INSERT_ROWS = rowSource((n, type) => `unnest($${n}::${type}[])`);
/**
 * One op (a single create, the latency path): the same columns as scalars. With arrays, a custom
 * plan knows the array holds one row and the generic plan guesses ten, so Postgres found the generic
 * plan dearer and planned every single create afresh: 1.8 ms of a 4 ms create (measured against
 * `plan_cache_mode = force_generic_plan`).
 */
const INSERT_ONE = rowSource((n, type) => `$${n}::${type}`);
const rowsOf = (ops: InsertOp[]) => (ops.length === 1 ? { from: INSERT_ONE, tag: '-one' } : { from: INSERT_ROWS, tag: '' });
/**
 * Per row, its time `t.now` and whether it starts claimed (`e.eager`, see OperationInsertParams.owner_id):
 * only while nothing is queued in its routing (one probe of lro_claim_idx), so an eager start never
 * passes an op that waits, whatever its priority or account. `OFFSET 0` keeps Postgres from inlining
 * `e.eager` into each of the seven columns that read it (the probe ran once per column).
 */
const INSERT_LATERALS = `LATERAL (SELECT coalesce(r.now, now()) AS now) t,
  LATERAL (SELECT r.owner_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM ${T} q WHERE q.status = 'queued' AND q.routing = r.routing) AS eager OFFSET 0) e`;
const INSERT_VALUES = `coalesce(r.op_id, gen_random_uuid()), r.kind, r.scope_type, r.scope_id, r.routing, r.input, r.created_by,
  r.max_attempts, r.lease_s, r.priority, r.dedupe_key, r.parent_id, t.now, t.now, t.now, t.now + make_interval(secs => r.ttl_s),
  CASE WHEN e.eager THEN 'running' ELSE 'queued' END, CASE WHEN e.eager THEN r.owner_id END,
  CASE WHEN e.eager THEN r.owner_type END, e.eager::int, e.eager::int, CASE WHEN e.eager THEN t.now END,
  CASE WHEN e.eager THEN t.now END`;
/**
 * Only a batch with a dedupe key names the arbiter: ON CONFLICT makes every row a speculative
 * insertion (a lock taken and released, and one more WAL record, per row), ~57 WAL bytes and a few %
 * of the server's time an op for nothing when no row can conflict.
 */
const ON_CONFLICT = `ON CONFLICT (scope_type, scope_id, kind, dedupe_key)
  WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running') DO NOTHING`;
/**
 * What the INSERT returns into `u`: every column when the statement appends the summaries or the
 * caller wants rows, else only what the caller and NOTIFY_QUEUED read (each returned row is copied
 * into `u`'s tuplestore: ~5 % of the server's time of a 1,000-op insert for the 30 columns).
 */
function insertTail(db: Db, dedupe: boolean, returning: InsertReturning): string {
  const wanted = new Set<string>([...(returning === 'summary' ? SUMMARY_COLUMNS : ['op_id']), 'routing', 'status']);
  const columns = returning === 'row' || appendsSummaries(db) ? '*' : [...wanted].join(', ');
  return `${dedupe ? ON_CONFLICT : ''} RETURNING ${columns}`;
}
/**
 * Wakes the workers of each routing that got queued ops: the insert's own notification (sql/011
 * dropped the trigger that did it from a transition table of every inserted row, ~12 % of a
 * 1,000-op insert's server time). A FROM item of the final SELECT, so that Postgres runs it.
 */
const NOTIFY_QUEUED = `, (SELECT count(pg_notify('lro_queued', q.routing))
    FROM (SELECT DISTINCT routing FROM u WHERE status = 'queued') q) q`;
/** The columns a new op's summary is published from (OpEvents' SummaryFields), outside Postgres. */
const SUMMARY_COLUMNS = [
  'op_id',
  'scope_type',
  'scope_id',
  'lease_epoch',
  'status',
  'attempt',
  'max_attempts',
  'progress_summary',
  'error',
  'last_error',
  'result',
  'cancel_requested_at',
  'run_at',
  'started_at',
  'finished_at',
] as const;
const insertColumns = (returning: InsertReturning) =>
  ({ row: 'u.*', op_id: 'u.op_id', summary: SUMMARY_COLUMNS.map((c) => `u.${c}`).join(', ') })[returning];

/**
 * What an insert returns: the whole rows, only their ids, or what their summaries need (a bulk
 * create that needs no more: not 30 columns parsed per row, three of them dates).
 */
type InsertReturning = 'row' | 'op_id' | 'summary';
type Inserted<R extends InsertReturning> = R extends 'row'
  ? Operation
  : R extends 'summary'
    ? Pick<Operation, (typeof SUMMARY_COLUMNS)[number]>
    : Pick<Operation, 'op_id'>;
type InsertOp = OperationInsertParams & { op_id?: string };

/** An op's values in INSERT_ROWS' order. */
const insertRow = (o: InsertOp) =>
  [
    o.op_id,
    o.kind,
    o.scope_type,
    o.scope_id,
    o.routing,
    JSON.stringify(o.input),
    o.created_by,
    o.max_attempts,
    o.lease_s,
    o.priority,
    o.dedupe_key,
    o.parent_id,
    o.ttl_s,
    o.now,
    o.owner_id ?? null,
    o.owner_type ?? null,
  ] as const;

/**
 * The statement's first 16 parameters (INSERT_ROWS) as Postgres array literals, and whether any op
 * has a dedupe key. Written here rather than by node-postgres (which escapes every element twice
 * over): a value equal to the one above it, as most of a bulk create's are, reuses its encoding.
 */
function insertArrays(ops: InsertOp[]): { values: unknown[]; dedupe: boolean } {
  if (ops.length === 1) {
    const row = insertRow(ops[0]!);
    return { values: [...row], dedupe: row[DEDUPE_KEY] !== null };
  }
  const width = ROW_COLUMNS.length;
  const parts: string[][] = Array.from({ length: width }, () => new Array<string>(ops.length));
  let prev: readonly unknown[] = [];
  let dedupe = false;
  for (let i = 0; i < ops.length; i++) {
    const row = insertRow(ops[i]!);
    for (let c = 0; c < width; c++) parts[c]![i] = i > 0 && row[c] === prev[c] ? parts[c]![i - 1]! : arrayElement(row[c]);
    prev = row;
    if (row[DEDUPE_KEY] !== null) dedupe = true;
  }
  return { values: parts.map((p) => `{${p.join(',')}}`), dedupe };
}

/** One element of an array literal: NULL, a number, or a double-quoted string. */
function arrayElement(v: string | number | Date | null | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return String(v);
  const s = v instanceof Date ? v.toISOString() : v;
  return `"${/["\\]/.test(s) ? s.replace(/["\\]/g, '\\$&') : s}"`;
}

/**
 * Inserts many ops in one statement (one notification). An op whose dedupe key an active op already
 * holds is skipped: it is missing from the answer. Give `op_id`s to match the answer to the input.
 */
export async function operationInsertMany<R extends InsertReturning = 'row'>(
  db: Db,
  ops: InsertOp[],
  returning: R = 'row' as R,
): Promise<Inserted<R>[]> {
  const { values, dedupe } = insertArrays(ops);
  const rows = rowsOf(ops);
  return changeOps<Inserted<R>>(
    db,
    {
      name: `operation-insert-many-${returning}${dedupe ? '-dedupe' : ''}${rows.tag}`,
      ctes: '',
      dml: `INSERT INTO ${T} (${INSERT_COLUMNS}) SELECT ${INSERT_VALUES}
              FROM ${rows.from}, ${INSERT_LATERALS}
            ${insertTail(db, dedupe, returning)}`,
      columns: insertColumns(returning),
      join: NOTIFY_QUEUED,
      fresh: true,
    },
    values,
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
  ops: InsertOp[],
  p: { max_active: number },
  returning: R = 'row' as R,
): Promise<Inserted<R>[]> {
  const wanted = new Map<string, number>();
  for (const op of ops) if (op.created_by !== null) wanted.set(op.created_by, (wanted.get(op.created_by) ?? 0) + 1);
  const { values, dedupe } = insertArrays(ops);
  return changeOps<Inserted<R>>(
    db,
    {
      ctes: `WITH r AS (SELECT r.*, row_number() OVER (PARTITION BY r.created_by) AS nth FROM ${rowsOf(ops).from}),
     admit AS (SELECT * FROM lro_admit($17::text[], $18::int[], $19))`,
      dml: `INSERT INTO ${T} (${INSERT_COLUMNS}) SELECT ${INSERT_VALUES}
       FROM r LEFT JOIN admit a ON a.account = r.created_by, ${INSERT_LATERALS}
      WHERE r.created_by IS NULL OR r.nth <= a.admitted
     ${insertTail(db, dedupe, returning)}`,
      columns: insertColumns(returning),
      join: NOTIFY_QUEUED,
      fresh: true,
    },
    [...values, [...wanted.keys()], [...wanted.values()], p.max_active],
  );
}
