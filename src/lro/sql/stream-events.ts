/**
 * Every SQL statement on `lro_streams` and `lro_stream_events` (the `pg` progress-stream adapter),
 * one function each.
 */
import type { EventBody, HistoryPage, StreamAddress, StreamConfig, StreamEvent } from '../streams/types.js';
import type { Db } from './operations.js';

export interface AppendItem {
  storage: string;
  stream: string;
  body: EventBody;
}

/**
 * Appends events to any number of streams in one statement: allocates contiguous seqs per stream
 * under each stream row's lock (taken in a fixed order), inserts, evicts what fell out of each ring,
 * and sends one notification per ~100 streams. Returns seq and ts for each item, in input order.
 */
export async function streamAppend(db: Db, items: AppendItem[]): Promise<{ seq: number; ts: string }[]> {
  const { rows } = await db.query<{ seq: number; ts: string }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS i(storage, stream, event, ord)),
     counts AS (SELECT storage, stream, count(*)::bigint AS n FROM input GROUP BY storage, stream),
     s AS (
       INSERT INTO lro_streams AS s (storage, stream, last_seq)
       SELECT storage, stream, n FROM counts ORDER BY storage, stream
       ON CONFLICT (storage, stream) DO UPDATE SET last_seq = s.last_seq + excluded.last_seq
       RETURNING storage, stream, last_seq, max_msgs),
     numbered AS (
       SELECT i.ord, i.storage, i.stream, i.event,
              s.last_seq - c.n + row_number() OVER (PARTITION BY i.storage, i.stream ORDER BY i.ord) AS seq
         FROM input i JOIN counts c USING (storage, stream) JOIN s USING (storage, stream)),
     ins AS (
       INSERT INTO lro_stream_events (storage, stream, seq, ts, event)
       SELECT storage, stream, seq, clock_timestamp(), event FROM numbered
       RETURNING storage, stream, seq, ts),
     evict AS (
       DELETE FROM lro_stream_events d USING s
        WHERE d.storage = s.storage AND d.stream = s.stream AND d.seq <= s.last_seq - s.max_msgs),
     notified AS (
       SELECT pg_notify('lro_stream', string_agg(storage || ' ' || stream, ',')) AS x
         FROM (SELECT storage, stream, (row_number() OVER ()) / 100 AS chunk FROM s) c GROUP BY chunk)
     SELECT ins.seq::float8 AS seq, to_jsonb(ins.ts) #>> '{}' AS ts
       FROM ins JOIN numbered n USING (storage, stream, seq), (SELECT count(*) FROM notified) k
      ORDER BY n.ord`,
    [items.map((i) => i.storage), items.map((i) => i.stream), items.map((i) => JSON.stringify(i.body))],
  );
  return rows;
}

/** Stored events with seq ≥ `from`, oldest first, plus the oldest stored seq and the last seq ever given. */
export async function streamHistory(db: Db, addr: StreamAddress, from: number, limit: number): Promise<HistoryPage> {
  const { rows } = await db.query(
    `SELECT s.last_seq::float8 AS last_seq,
       (SELECT min(seq) FROM lro_stream_events e WHERE e.storage = s.storage AND e.stream = s.stream)::float8 AS first_seq,
       coalesce((SELECT jsonb_agg(x.event || jsonb_build_object('seq', x.seq, 'ts', x.ts) ORDER BY x.seq)
          FROM (SELECT seq, ts, event FROM lro_stream_events e
                 WHERE e.storage = s.storage AND e.stream = s.stream AND e.seq >= $3
                 ORDER BY seq LIMIT $4) x), '[]'::jsonb) AS events
     FROM lro_streams s WHERE s.storage = $1 AND s.stream = $2`,
    [addr.storage, addr.name, from, limit],
  );
  const row = rows[0];
  if (!row) return { events: [], first_seq: null, last_seq: 0 };
  return { events: row.events as StreamEvent[], first_seq: row.first_seq, last_seq: row.last_seq };
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

/** Drops events older than their stream's `max_age_s`. Returns how many. */
export async function streamTrimAge(db: Db, p: { now?: Date | null }): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM lro_stream_events e USING lro_streams s
      WHERE s.max_age_s IS NOT NULL AND e.storage = s.storage AND e.stream = s.stream
        AND e.ts < coalesce($1::timestamptz, now()) - make_interval(secs => s.max_age_s)`,
    [p.now ?? null],
  );
  return rowCount ?? 0;
}
