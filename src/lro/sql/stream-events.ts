/**
 * Every SQL statement on `lro_streams` and `lro_stream_events` (the `pg` progress-stream adapter),
 * one function each.
 */
import { DEFAULTS } from '../../shared/defaults.js';
import type { EventBody, HistoryPage, StreamAddress, StreamConfig, StreamEvent } from '../streams/types.js';
import type { Db } from './operations.js';
import { preparedQuery } from './operations-prepared.js';

export interface AppendItem {
  storage: string;
  stream: string;
  body: EventBody;
  /** The writer's lease epoch; absent for writers that are not fenced. */
  epoch?: number;
}

/** One appended item: its seq and ts, or `seq: null` when it was refused for a stale epoch. */
export interface AppendOutcome {
  seq: number | null;
  ts: string | null;
  /** The newest epoch the stream had seen: why an item was refused. */
  epoch: number;
}

/**
 * A SELECT that wakes the followers of the streams in `from` (rows with `storage` and `stream`):
 * `pg_notify('lro_stream', ...)` with their names, one notification per ~7,000 bytes of them (a
 * payload must stay under 8,000 bytes: chunked by length, not by count).
 */
const notifyStreams = (from: string) => `SELECT pg_notify('lro_stream', string_agg(storage || ' ' || stream, ',')) AS x
  FROM (SELECT storage, stream, (sum(length(storage) + length(stream) + 2) OVER (ORDER BY storage, stream)) / 7000 AS chunk
          FROM ${from}) c GROUP BY chunk`;

/**
 * Appends events to any number of streams in one statement. Seqs continue each stream's newest
 * stored event (the ring always keeps it); a concurrent writer to the same stream makes this
 * statement fail with a unique violation and the caller retries it, so seqs stay contiguous and
 * commit in order without a counter row to update.
 *
 * Fencing: an event whose epoch is older than the newest epoch its stream has seen (stored, or
 * earlier in this batch) is refused and gets no seq. Each stored row records that high-water mark,
 * so the newest event carries it; the same conflict-and-retry keeps the check exact under
 * concurrent writers. Evicts what fell out of each ring and sends one notification per ~7,000 bytes
 * of stream names. Returns an outcome for each item, in input order.
 *
 * Events are stamped `now` when given (a pinned clock), else the moment of the write (`clock_timestamp()`).
 */
export async function streamAppend(db: Db, p: { items: AppendItem[]; now?: Date | null }): Promise<AppendOutcome[]> {
  const { items } = p;
  const { rows } = await preparedQuery<AppendOutcome>(
    db,
    'stream-append',
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::int[]) WITH ORDINALITY AS i(storage, stream, event, epoch, ord)),
     newest AS MATERIALIZED (
       -- each stream's newest event: where its seqs continue, and the newest epoch it has seen
       -- (materialized: inlined, the planner looked it up once per item instead of once per stream)
       SELECT c.storage, c.stream, coalesce(l.seq, 0) AS base, coalesce(l.epoch, 0) AS base_epoch,
              coalesce(cfg.max_msgs, $6) AS max_msgs
         FROM (SELECT DISTINCT storage, stream FROM input) c
         LEFT JOIN LATERAL (SELECT e.seq, e.epoch FROM lro_stream_events e WHERE e.storage = c.storage AND e.stream = c.stream
                             ORDER BY e.seq DESC LIMIT 1) l ON true
         LEFT JOIN lro_streams cfg USING (storage, stream)),
     judged AS (
       -- mark: what an item's epoch must reach (its stream's, raised by earlier items of this batch);
       -- an accepted item's seq continues its stream after the accepted items before it. One CTE,
       -- so its two windows share one sort and the answer needs no join.
       SELECT m.*, m.epoch IS NULL OR m.epoch >= m.mark AS ok,
              m.base + count(*) FILTER (WHERE m.epoch IS NULL OR m.epoch >= m.mark) OVER w AS seq,
              m.base - m.max_msgs
                + count(*) FILTER (WHERE m.epoch IS NULL OR m.epoch >= m.mark) OVER (PARTITION BY m.storage, m.stream) AS evict_to
         FROM (SELECT i.ord, i.storage, i.stream, i.event, i.epoch, n.base, n.max_msgs, coalesce($5::timestamptz, clock_timestamp()) AS ts,
                      greatest(n.base_epoch, max(i.epoch) OVER (PARTITION BY i.storage, i.stream ORDER BY i.ord)) AS mark
                 FROM input i JOIN newest n USING (storage, stream)) m
       WINDOW w AS (PARTITION BY m.storage, m.stream ORDER BY m.ord)),
     s AS (
       -- the streams that get events, with how many
       SELECT storage, stream, min(base) AS base, min(max_msgs) AS max_msgs, count(*) AS n FROM judged WHERE ok
        GROUP BY storage, stream),
     ins AS (
       -- events that this very batch pushes out of the ring are numbered but never stored
       INSERT INTO lro_stream_events (storage, stream, seq, ts, event, epoch)
       SELECT storage, stream, seq, ts, event, mark FROM judged WHERE ok AND seq > evict_to),
     evict AS (
       -- only the range this batch pushes out: a scan from the start of the stream would step over
       -- every dead row that vacuum has not reclaimed yet
       DELETE FROM lro_stream_events d USING s
        WHERE s.base + s.n > s.max_msgs AND d.storage = s.storage AND d.stream = s.stream
          AND d.seq > s.base - s.max_msgs AND d.seq <= s.base + s.n - s.max_msgs),
     notified AS (${notifyStreams('s')})
     SELECT CASE WHEN j.ok THEN j.seq::float8 END AS seq, CASE WHEN j.ok THEN to_jsonb(j.ts) #>> '{}' END AS ts, j.mark AS epoch
       FROM judged j, (SELECT count(*) FROM notified) k
      ORDER BY j.ord`,
    [
      items.map((i) => i.storage),
      items.map((i) => i.stream),
      items.map((i) => JSON.stringify(i.body)),
      items.map((i) => i.epoch ?? null),
      p.now ?? null,
      DEFAULTS.streamMaxMsgs,
    ],
  );
  return rows;
}

/** Stored events with seq ≥ `from`, oldest first, at most `limit`, and the newest seq of the stream. */
export async function streamHistory(db: Db, addr: StreamAddress, from: number, limit: number): Promise<HistoryPage> {
  const { rows } = await db.query(
    `SELECT coalesce((SELECT max(seq) FROM lro_stream_events WHERE storage = $1 AND stream = $2), 0)::float8 AS last_seq,
       coalesce((SELECT jsonb_agg(x.event || jsonb_build_object('seq', x.seq, 'ts', x.ts) ORDER BY x.seq)
          FROM (SELECT seq, ts, event FROM lro_stream_events
                 WHERE storage = $1 AND stream = $2 AND seq >= $3 ORDER BY seq LIMIT $4) x), '[]'::jsonb) AS events`,
    [addr.storage, addr.name, from, limit],
  );
  const { events, last_seq } = rows[0] as { events: StreamEvent[]; last_seq: number };
  return { events, first_seq: events[0]?.seq ?? null, last_seq };
}

/** Where a live read of one stream starts. */
export interface StreamReadFrom {
  storage: string;
  stream: string;
  from: number;
}

/**
 * Stored events of many streams at once, each from its own seq, oldest first, at most `limit` per
 * stream (the live path: one index range scan per stream). Returns one array per read, in input order.
 * One statement for every stream a notification names: read one by one, 1,000 followed streams cost
 * 1,000 round trips per wake-up, and the hub spent more CPU sending them than on anything else.
 */
export async function streamRead(db: Db, reads: StreamReadFrom[], limit: number): Promise<StreamEvent[][]> {
  // The event as text, its seq and ts beside it: building `event || {seq, ts}` as jsonb on the server
  // cost more than the rest of the read (400 streams: 6.6 → 4.4 ms a read, measured alone).
  const { rows } = await preparedQuery<{ i: number; seq: number; ts: string; e: string }>(
    db,
    'stream-read-many',
    `SELECT r.i::int AS i, x.seq::float8 AS seq, to_jsonb(x.ts) #>> '{}' AS ts, x.event::text AS e
       FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS r(storage, stream, from_seq, i)
      CROSS JOIN LATERAL (
        SELECT seq, ts, event FROM lro_stream_events e
         WHERE e.storage = r.storage AND e.stream = r.stream AND e.seq >= r.from_seq ORDER BY e.seq LIMIT $4) x
      ORDER BY r.i, x.seq`,
    [reads.map((r) => r.storage), reads.map((r) => r.stream), reads.map((r) => r.from), limit],
  );
  const out: StreamEvent[][] = reads.map(() => []);
  for (const r of rows) {
    const e = JSON.parse(r.e) as StreamEvent; // (fresh from the parse: filled in, not copied)
    e.seq = r.seq;
    e.ts = r.ts;
    out[r.i - 1]!.push(e);
  }
  return out;
}

export async function streamConfigure(db: Db, addr: StreamAddress, config: StreamConfig): Promise<void> {
  await db.query(
    `INSERT INTO lro_streams (storage, stream, max_msgs, max_age_s) VALUES ($1, $2, $3, $4)
     ON CONFLICT (storage, stream) DO UPDATE SET max_msgs = $3, max_age_s = $4`,
    [addr.storage, addr.name, config.max_msgs, config.max_age_s ?? null],
  );
}

export async function streamDrop(db: Db, addr: StreamAddress): Promise<void> {
  await db.query(
    `WITH e AS (DELETE FROM lro_stream_events WHERE storage = $1 AND stream = $2)
     DELETE FROM lro_streams WHERE storage = $1 AND stream = $2`,
    [addr.storage, addr.name],
  );
}

/**
 * Drops events older than their stream's `max_age_s`, always keeping each stream's newest event (its
 * seq is where the next append continues). Returns how many.
 */
export async function streamTrimAge(db: Db, p: { now?: Date | null }): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM lro_stream_events e USING lro_streams s
      WHERE s.max_age_s IS NOT NULL AND e.storage = s.storage AND e.stream = s.stream
        AND e.ts < coalesce($1::timestamptz, now()) - make_interval(secs => s.max_age_s)
        AND e.seq < (SELECT max(seq) FROM lro_stream_events m WHERE m.storage = s.storage AND m.stream = s.stream)`,
    [p.now ?? null],
  );
  return rowCount ?? 0;
}

/**
 * The `summary` event of the op row `o` (an alias) as a jsonb expression: what OpEvents' summaryOf()
 * builds in Node, field for field (test/summaries-sql.test.ts holds them equal). Empty fields are
 * left out; times are written as JSON.stringify writes a Date (sql/010's lro_iso).
 */
export function summaryEvent(o: string): string {
  const field = (when: string, name: string, value: string) =>
    `CASE WHEN ${when} THEN jsonb_build_object('${name}', ${value}) ELSE '{}'::jsonb END`;
  const progress = `CASE WHEN ${o}.status = 'running' THEN ${o}.progress_summary ELSE lro_without_etas(${o}.progress_summary) END`;
  return `jsonb_build_object('type', 'summary', 'summary',
    jsonb_build_object('status', ${o}.status, 'attempt', ${o}.attempt, 'max_attempts', ${o}.max_attempts)
    || ${field(`${o}.progress_summary IS NOT NULL`, 'progress', progress)}
    || ${field(`${o}.error IS NOT NULL`, 'error', `${o}.error`)}
    || ${field(`${o}.last_error IS NOT NULL AND ${o}.status <> 'failed'`, 'last_error', `${o}.last_error`)}
    || ${field(`${o}.status = 'succeeded'`, 'result', `${o}.result`)}
    || ${field(`${o}.cancel_requested_at IS NOT NULL`, 'cancel_requested', 'true')}
    || ${field(`${o}.status = 'queued' AND ${o}.attempt > 0`, 'run_at', `lro_iso(${o}.run_at)`)}
    || ${field(`${o}.started_at IS NOT NULL`, 'started_at', `lro_iso(${o}.started_at)`)}
    || ${field(`${o}.finished_at IS NOT NULL`, 'finished_at', `lro_iso(${o}.finished_at)`)})`;
}

/**
 * CTEs that append a `summary` event (summaryEvent) for each row of `source`, a CTE of changed ops
 * with every column the event reads (`RETURNING o.*`), to the op's stream, in the statement that
 * changed them: as streamAppend does for one event each, the seq continues the stream's newest
 * event, the epoch is fenced (a row's lease_epoch below its stream's mark is refused), the ring
 * evicts what falls out, and one notification per ~7,000 bytes of stream names wakes the followers.
 * `ctes` follows the statement's own CTEs; its final SELECT must join `from`, which is what makes
 * Postgres run the notification (an unreferenced SELECT CTE is not run).
 *
 * A writer appending to one of the same streams at this moment (an op's last progress events racing
 * a cancel) makes the statement fail on the primary key (23505), changing nothing: the caller runs it
 * again (`changeOps`).
 */
export function summaryAppend(source: string, opts: { fresh?: boolean } = {}): { ctes: string; from: string } {
  const events = `,
     se_i AS (
       SELECT CASE WHEN s.scope_type = 'hub' THEN 'persist.hub' ELSE 'persist.' || s.scope_type || '-' || s.scope_id END AS storage,
              'lro.' || s.op_id AS stream, s.updated_at AS ts, s.lease_epoch AS epoch,
              ${summaryEvent('s')} AS event
         FROM ${source} s)`;
  // A new op's stream has no events and no config (its id was drawn by this statement's caller):
  // its summary is seq 1, with no lookup of the newest event, nothing to evict, and nobody to wake
  // (nobody knows the id before this commits; a reader who learns it reads the history first). The
  // sort and notification of 1,000 names, and every listener's lookup of them, were ~10 % of a bulk
  // create's server time.
  if (opts.fresh) {
    return {
      ctes: `${events},
     se_ins AS (
       INSERT INTO lro_stream_events (storage, stream, seq, ts, event, epoch) SELECT storage, stream, 1, ts, event, epoch FROM se_i)`,
      from: '',
    };
  }
  return {
    ctes: `${events},
     se_n AS (
       SELECT i.*, coalesce(l.seq, 0) + 1 AS seq, greatest(i.epoch, coalesce(l.epoch, 0)) AS mark,
              coalesce(cfg.max_msgs, ${DEFAULTS.streamMaxMsgs}) AS max_msgs
         FROM se_i i
         LEFT JOIN LATERAL (SELECT e.seq, e.epoch FROM lro_stream_events e WHERE e.storage = i.storage AND e.stream = i.stream
                             ORDER BY e.seq DESC LIMIT 1) l ON true
         LEFT JOIN lro_streams cfg USING (storage, stream)
        WHERE i.epoch >= coalesce(l.epoch, 0)),
     se_ins AS (
       INSERT INTO lro_stream_events (storage, stream, seq, ts, event, epoch) SELECT storage, stream, seq, ts, event, mark FROM se_n),
     se_evict AS (
       DELETE FROM lro_stream_events d USING se_n n
        WHERE n.seq > n.max_msgs AND d.storage = n.storage AND d.stream = n.stream AND d.seq = n.seq - n.max_msgs),
     se_notify AS (${notifyStreams('se_n')})`,
    from: `, (SELECT count(*) FROM se_notify) se_k`,
  };
}
