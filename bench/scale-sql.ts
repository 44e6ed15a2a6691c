/**
 * The statements of bench/scale.ts: filling lro's tables fast with copies of a real op (its row and
 * its stream's events), one INSERT … SELECT generate_series each, and reading the claim's plan.
 */
import type pg from 'pg';

type Db = Pick<pg.Pool, 'query'>;

/** The columns of long_running_operations (sql/001, 002); a fill writes every one. */
const COLUMNS = `op_id, kind, scope_type, scope_id, status, created_by, owner_type, owner_id, routing, input, result, error,
  last_error, progress_summary, attempt, max_attempts, priority, lease_epoch, lease_s, run_at, heartbeat_at,
  cancel_requested_at, dismissed_at, created_at, started_at, finished_at, updated_at, expires_at, dedupe_key, parent_id,
  events_dropped_at`;

/** The template op's stream: its storage (the `storage` of its events) and name. */
export async function templateStream(db: Db, opId: string): Promise<{ storage: string; stream: string; events: number }> {
  const { rows } = await db.query(
    `SELECT storage, stream, count(*)::int AS events FROM lro_stream_events WHERE stream = 'lro.' || $1::text GROUP BY 1, 2`,
    [opId],
  );
  if (rows.length !== 1) throw new Error(`template op ${opId} has ${rows.length} streams`);
  return rows[0];
}

/**
 * `count` finished copies of the template op (new op_ids), each with a copy of its every event, its
 * timestamps moved `(offset + i) × 10 ms` into the past (so 1,000,000 ops span ~2.8 hours, newest first).
 */
export async function operationFillFinished(
  db: Db,
  p: { template: string; storage: string; count: number; offset: number },
): Promise<void> {
  await db.query(
    `WITH t AS (SELECT * FROM long_running_operations WHERE op_id = $1),
     te AS MATERIALIZED (SELECT * FROM lro_stream_events WHERE storage = $2 AND stream = 'lro.' || $1::text),
     g AS MATERIALIZED (SELECT gen_random_uuid() AS op_id, make_interval(secs => ($4 + i) * 0.01) AS ago
                          FROM generate_series(1, $3::int) i),
     ops AS (
       INSERT INTO long_running_operations (${COLUMNS})
       SELECT g.op_id, t.kind, t.scope_type, t.scope_id, t.status, t.created_by, t.owner_type, t.owner_id, t.routing, t.input,
              t.result, t.error, t.last_error, t.progress_summary, t.attempt, t.max_attempts, t.priority, t.lease_epoch, t.lease_s,
              t.run_at - g.ago, t.heartbeat_at - g.ago, t.cancel_requested_at, t.dismissed_at, t.created_at - g.ago,
              t.started_at - g.ago, t.finished_at - g.ago, t.updated_at - g.ago, t.expires_at, t.dedupe_key, t.parent_id,
              t.events_dropped_at
         FROM t, g)
     INSERT INTO lro_stream_events (storage, stream, seq, ts, event, epoch)
     SELECT te.storage, 'lro.' || g.op_id, te.seq, te.ts - g.ago, te.event, te.epoch FROM g, te`,
    [p.template, p.storage, p.count, p.offset],
  );
}

/**
 * `count` queued copies of the template op, as it was when created (never claimed), due `dueIn`
 * from now: the same kind, routing and account as the ops being run, so they sit in the same claim
 * index range, behind them. Each gets the template's first event (the summary written at create).
 */
export async function operationFillQueued(db: Db, p: { template: string; storage: string; count: number; dueIn: string }): Promise<void> {
  await db.query(
    `WITH t AS (SELECT * FROM long_running_operations WHERE op_id = $1),
     te AS MATERIALIZED (SELECT * FROM lro_stream_events WHERE storage = $2 AND stream = 'lro.' || $1::text AND seq = 1),
     g AS MATERIALIZED (SELECT gen_random_uuid() AS op_id, make_interval(secs => i * 0.001) AS later
                          FROM generate_series(1, $3::int) i),
     ops AS (
       INSERT INTO long_running_operations (${COLUMNS})
       SELECT g.op_id, t.kind, t.scope_type, t.scope_id, 'queued', t.created_by, NULL, NULL, t.routing, t.input,
              NULL, NULL, NULL, NULL, 0, t.max_attempts, t.priority, 0, t.lease_s,
              now() + $4::interval + g.later, NULL, NULL, NULL, now(), NULL, NULL, now(), NULL, NULL, NULL, NULL
         FROM t, g)
     INSERT INTO lro_stream_events (storage, stream, seq, ts, event, epoch)
     SELECT te.storage, 'lro.' || g.op_id, 1, now(), te.event, 0 FROM g, te`,
    [p.template, p.storage, p.count, p.dueIn],
  );
}

/** Finished ops and their events, and queued ones (exact counts). */
export async function operationCounts(db: Db): Promise<{ finished: number; queued: number; events: number }> {
  const { rows } = await db.query(
    `SELECT count(*) FILTER (WHERE finished_at IS NOT NULL)::int AS finished, count(*) FILTER (WHERE status = 'queued')::int AS queued,
            (SELECT count(*)::int FROM lro_stream_events) AS events
       FROM long_running_operations`,
  );
  return rows[0];
}

/** Ops running now (lro_running_idx: cheap at any table size). */
export async function operationRunningCount(db: Db): Promise<number> {
  return (await db.query(`SELECT count(*)::int AS n FROM long_running_operations WHERE status = 'running'`)).rows[0].n;
}

export async function vacuumAnalyze(db: Db): Promise<void> {
  await db.query('VACUUM ANALYZE long_running_operations, lro_stream_events');
}

/**
 * `EXPLAIN (ANALYZE, BUFFERS)` of a statement as a prepared statement's generic plan (what a worker's
 * connection runs after its first executions), inside a transaction rolled back (the claim writes).
 * Run twice; the second, warm one is returned.
 */
export async function explainPrepared(client: pg.PoolClient, text: string, values: unknown[]): Promise<string> {
  const literal = (v: unknown): string =>
    v === null
      ? 'NULL'
      : typeof v === 'number'
        ? String(v)
        : Array.isArray(v)
          ? `ARRAY[${v.map(literal).join(', ')}]::text[]`
          : client.escapeLiteral(String(v));
  await client.query(`SET plan_cache_mode = force_generic_plan`);
  await client.query(`PREPARE bench_claim AS ${text}`);
  const explain = async () => {
    await client.query('BEGIN');
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_claim(${values.map(literal).join(', ')})`);
    await client.query('ROLLBACK');
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  };
  await explain();
  const plan = await explain();
  await client.query('DEALLOCATE bench_claim');
  return plan;
}
