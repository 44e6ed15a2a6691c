/**
 * The schemas and statements bench/wal-floor.ts compares: plain-SQL variants of an op's claim and
 * completion, each in a schema of its own (tables `ops`, `q`, `lease`, `ev`), seeded from the rows
 * the real code inserted into `public`. Not lro's code: an experiment on what a design would write.
 */
import { summaryEvent } from '../src/lro/sql/stream-events.js';

/** Where queued ops are found and how a running op stays findable. */
type Queue =
  /** as now: `status` in partial indexes of the op table (every update non-HOT) */
  | 'status'
  /** a queue table (op_id, routing, account, priority, run_at), its row deleted by the claim */
  | 'delete'
  /** the queue row kept while the op runs: the claim marks it (a HOT update), the completion deletes it */
  | 'active'
  /** the queue row deleted by the claim, a lease row (op_id, routing) inserted, deleted by the completion */
  | 'lease';

/** The summary event row. */
type Events =
  /** as now: (storage text, stream text 'lro.<uuid>', seq bigint, ts, event jsonb, epoch) */
  | 'now'
  /** (stream uuid, storage smallint, seq int, epoch int, ts, event jsonb as now) */
  | 'c1'
  /** c1 with the wrapper {type, summary} dropped: `type` a smallint, `event` the summary object */
  | 'c2'
  /** typed columns (status, attempt, max_attempts, started_at, finished_at), jsonb only for what else the summary holds */
  | 'c3'
  /** the least row with ordered read-back: (stream uuid, seq int), its primary key */
  | 'min'
  /** (stream uuid, seq int) with no index at all: nothing reads it back in order */
  | 'heap'
  | 'none';

export interface Variant {
  key: string;
  what: string;
  queue: Queue;
  events: Events;
  /** The op table's columns reordered: those no transition changes first, so an update logs only the changed tail. */
  reorder?: boolean;
}

export const VARIANTS: Variant[] = [
  { key: 'a2', what: 'a in plain SQL (checks the harness)', queue: 'status', events: 'now' },
  { key: 'a_off', what: 'current schema, no events', queue: 'status', events: 'none' },
  { key: 'b', what: 'HOT op, queue row deleted by claim', queue: 'delete', events: 'now' },
  { key: 'b_act', what: 'HOT op, queue row kept while running', queue: 'active', events: 'now' },
  { key: 'b_lease', what: 'HOT op, queue deleted + lease row', queue: 'lease', events: 'now' },
  { key: 'b_off', what: 'HOT op, queue deleted, no events', queue: 'delete', events: 'none' },
  { key: 'b_ord', what: 'b, op columns reordered', queue: 'delete', events: 'now', reorder: true },
  { key: 'c1', what: 'current op, event keyed (uuid, int2, int4)', queue: 'status', events: 'c1' },
  { key: 'c2', what: 'c1, summary object only', queue: 'status', events: 'c2' },
  { key: 'c3', what: 'current op, typed summary row', queue: 'status', events: 'c3' },
  { key: 'c_min', what: 'current op, event (uuid, int) + pkey', queue: 'status', events: 'min' },
  { key: 'd', what: 'b + c3', queue: 'delete', events: 'c3' },
  { key: 'd_act', what: 'b_act + c3', queue: 'active', events: 'c3' },
  { key: 'd_lease', what: 'b_lease + c3', queue: 'lease', events: 'c3' },
  { key: 'd_ord', what: 'd, op columns reordered', queue: 'delete', events: 'c3', reorder: true },
  { key: 'd_act_ord', what: 'd_act, op columns reordered', queue: 'active', events: 'c3', reorder: true },
  { key: 'd_min', what: 'b + (uuid, int) + pkey', queue: 'delete', events: 'min' },
  { key: 'd_heap', what: 'b + (uuid, int), no index', queue: 'delete', events: 'heap' },
];

const P = 'public';
/** The op table's indexes that name no column a claim or completion changes (kept by b–d). */
const STABLE_INDEXES = (s: string) => `
  CREATE INDEX ON ${s}.ops (scope_type, scope_id, created_at DESC, op_id DESC);
  CREATE INDEX ON ${s}.ops (created_at DESC, op_id DESC);
  CREATE INDEX ON ${s}.ops (parent_id) WHERE parent_id IS NOT NULL;`;

const EVENT_TABLES: Record<Exclude<Events, 'none'>, string> = {
  now: `(LIKE ${P}.lro_stream_events INCLUDING ALL)`,
  c1: `(stream uuid, ts timestamptz NOT NULL, seq int NOT NULL, epoch int NOT NULL, storage smallint NOT NULL, event jsonb NOT NULL,
        PRIMARY KEY (stream, storage, seq))`,
  c2: `(stream uuid, ts timestamptz NOT NULL, seq int NOT NULL, epoch int NOT NULL, storage smallint NOT NULL, type smallint NOT NULL,
        event jsonb NOT NULL, PRIMARY KEY (stream, storage, seq))`,
  c3: `(stream uuid, ts timestamptz NOT NULL, started_at timestamptz, finished_at timestamptz, seq int NOT NULL, epoch int NOT NULL,
        storage smallint NOT NULL, type smallint NOT NULL, status smallint, attempt smallint, max_attempts smallint, extra jsonb,
        PRIMARY KEY (stream, storage, seq))`,
  min: `(stream uuid, seq int, PRIMARY KEY (stream, seq))`,
  heap: `(stream uuid, seq int)`,
};

/** DDL of variant `v` in schema `v.key`, seeded with public's queued ops and their `queued` summaries. */
export function setupSql(v: Variant): string {
  const s = v.key;
  const indexes = v.queue === 'status' ? 'INCLUDING ALL' : 'INCLUDING DEFAULTS INCLUDING CONSTRAINTS';
  const parts = [`CREATE SCHEMA ${s}`];
  if (v.reorder) parts.push(reordered(s));
  else
    parts.push(
      `CREATE TABLE ${s}.ops (LIKE ${P}.long_running_operations ${indexes}) WITH (fillfactor = 70)`,
      `INSERT INTO ${s}.ops SELECT * FROM ${P}.long_running_operations ORDER BY created_at, op_id`,
    );
  if (v.queue !== 'status') parts.push(`ALTER TABLE ${s}.ops ADD PRIMARY KEY (op_id); ${STABLE_INDEXES(s)}`);
  if (v.queue !== 'status') {
    parts.push(
      `CREATE TABLE ${s}.q (op_id uuid PRIMARY KEY, routing text NOT NULL, account text NOT NULL, priority int NOT NULL,
         run_at timestamptz NOT NULL, expires_at timestamptz, leased_by text) WITH (fillfactor = 70)`,
      `CREATE INDEX ON ${s}.q (routing, priority DESC, run_at)`,
      `CREATE INDEX ON ${s}.q (routing, account, priority DESC, run_at)`,
      `INSERT INTO ${s}.q SELECT op_id, routing, coalesce(created_by, ''), priority, run_at, expires_at
         FROM ${s}.ops ORDER BY created_at, op_id`,
    );
  }
  if (v.queue === 'lease') parts.push(`CREATE TABLE ${s}.lease (op_id uuid PRIMARY KEY, routing text NOT NULL)`);
  if (v.events !== 'none') {
    parts.push(`CREATE TABLE ${s}.ev ${EVENT_TABLES[v.events]}`);
    parts.push(`INSERT INTO ${s}.ev ${eventRows(v.events, `(SELECT * FROM ${s}.ops ORDER BY created_at, op_id)`, '1')}`);
  }
  return parts.filter(Boolean).join(';\n');
}

/** Columns of the op row that a transition may change (claim, heartbeat, completion, failure, cancel, retention). */
const MUTABLE = `{status,owner_type,owner_id,result,error,last_error,progress_summary,attempt,lease_epoch,run_at,heartbeat_at,
  cancel_requested_at,dismissed_at,started_at,finished_at,updated_at,events_dropped_at}`;

/**
 * `ops` as a copy of public's rows with the columns no transition changes first (constraints and
 * defaults left out: they write nothing).
 */
const reordered = (s: string) => `DO $$ BEGIN EXECUTE format(
  'CREATE TABLE ${s}.ops WITH (fillfactor = 70) AS SELECT %s FROM ${P}.long_running_operations ORDER BY created_at, op_id',
  (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attname = ANY('${MUTABLE}'::name[]), attnum) FROM pg_attribute
    WHERE attrelid = '${P}.long_running_operations'::regclass AND attnum > 0 AND NOT attisdropped)); END $$`;

/** Status codes of the typed summary row (c3). */
const STATUS_CODE = `CASE u.status WHEN 'queued' THEN 0 WHEN 'running' THEN 1 WHEN 'succeeded' THEN 2 WHEN 'failed' THEN 3
  WHEN 'canceled' THEN 4 ELSE 5 END`;

/** What a summary holds beyond the typed columns; NULL when nothing (a succeeded op's null result included: the reader restores it). */
const EXTRA = `nullif(nullif((${summaryEvent('u')} -> 'summary') - '{status,attempt,max_attempts,started_at,finished_at}'::text[],
  '{}'::jsonb), '{"result": null}'::jsonb)`;

/** A SELECT of the event rows (columns in table order) for the op rows of `from` (aliased u), seq `seq`. */
function eventRows(events: Exclude<Events, 'none'>, from: string, seq: string): string {
  const ev = summaryEvent('u');
  switch (events) {
    case 'now':
      return `SELECT 'persist.hub', 'lro.' || u.op_id, ${seq}, u.updated_at, ${ev}, u.lease_epoch FROM ${from} u`;
    case 'c1':
      return `SELECT u.op_id, u.updated_at, ${seq}, u.lease_epoch, 1, ${ev} FROM ${from} u`;
    case 'c2':
      return `SELECT u.op_id, u.updated_at, ${seq}, u.lease_epoch, 1, 1, ${ev} -> 'summary' FROM ${from} u`;
    case 'c3':
      return `SELECT u.op_id, u.updated_at, u.started_at, u.finished_at, ${seq}, u.lease_epoch, 1, 1, ${STATUS_CODE},
                u.attempt, u.max_attempts, ${EXTRA} FROM ${from} u`;
    case 'min':
    case 'heap':
      return `SELECT u.op_id, ${seq} FROM ${from} u`;
  }
}

/** The next seq of u's stream: one past its newest event (an index probe, as lro's append does). */
function nextSeq(s: string, events: Events): string {
  const where = events === 'now' ? `e.storage = 'persist.hub' AND e.stream = 'lro.' || u.op_id` : 'e.stream = u.op_id';
  // heap: no index, so the seq comes from the op row (attempt-based), as no reader could look it up anyway
  if (events === 'heap') return `CASE WHEN u.status = 'running' THEN 2 ELSE 3 END`;
  return `coalesce((SELECT e.seq FROM ${s}.ev e WHERE ${where} ORDER BY e.seq DESC LIMIT 1), 0) + 1`;
}

/** The tail of a statement whose changed op rows are the CTE `u`: appends their summaries. */
function appendTail(s: string, events: Events): string {
  if (events === 'none') return '';
  return `, ev AS (INSERT INTO ${s}.ev ${eventRows(events, 'u', nextSeq(s, events))})`;
}

const CLAIM_SET = `status = 'running', owner_id = 'worker-1', owner_type = 'hub', attempt = o.attempt + 1,
  lease_epoch = o.lease_epoch + 1, heartbeat_at = now(), started_at = coalesce(o.started_at, now()), updated_at = now()`;
const DUE_Q = (s: string, extra = '') =>
  `SELECT op_id FROM ${s}.q WHERE routing = 'hub'${extra} AND run_at <= now() AND (expires_at IS NULL OR expires_at > now())
    ORDER BY priority DESC, run_at LIMIT $1 FOR UPDATE SKIP LOCKED`;

/** Claims up to $1 due ops of routing 'hub' (to running), appending their summaries. */
export function claimSql(v: Variant): string {
  const s = v.key;
  const picked: Record<Queue, string> = {
    status: `c AS (SELECT op_id FROM ${s}.ops WHERE status = 'queued' AND routing = 'hub' AND run_at <= now()
                    AND (expires_at IS NULL OR expires_at > now()) ORDER BY priority DESC, run_at LIMIT $1 FOR UPDATE SKIP LOCKED)`,
    delete: `c AS (DELETE FROM ${s}.q WHERE op_id IN (${DUE_Q(s)}) RETURNING op_id)`,
    active: `c AS (UPDATE ${s}.q SET leased_by = 'worker-1' WHERE op_id IN (${DUE_Q(s, ' AND leased_by IS NULL')}) RETURNING op_id)`,
    lease: `c AS (DELETE FROM ${s}.q WHERE op_id IN (${DUE_Q(s)}) RETURNING op_id, routing),
            l AS (INSERT INTO ${s}.lease SELECT op_id, routing FROM c)`,
  };
  return `WITH ${picked[v.queue]},
    u AS (UPDATE ${s}.ops o SET ${CLAIM_SET} FROM c WHERE o.op_id = c.op_id RETURNING o.*)${appendTail(s, v.events)}
    SELECT u.op_id, u.lease_epoch FROM u`;
}

/** Completes the ops ($1 ids, $2 epochs) as succeeded with a null result, appending their summaries. */
export function completeSql(v: Variant): string {
  const s = v.key;
  const release: Partial<Record<Queue, string>> = {
    active: `, r AS (DELETE FROM ${s}.q WHERE op_id IN (SELECT op_id FROM u))`,
    lease: `, r AS (DELETE FROM ${s}.lease WHERE op_id IN (SELECT op_id FROM u))`,
  };
  return `WITH c AS (SELECT * FROM unnest($1::uuid[], $2::int[]) AS c(op_id, epoch)),
    u AS (UPDATE ${s}.ops o SET status = 'succeeded', result = 'null'::jsonb, finished_at = now(), updated_at = now(),
            heartbeat_at = now() FROM c WHERE o.op_id = c.op_id AND o.status = 'running' AND o.lease_epoch = c.epoch
          RETURNING o.*)${release[v.queue] ?? ''}${appendTail(s, v.events)}
    SELECT count(*) FROM u`;
}
