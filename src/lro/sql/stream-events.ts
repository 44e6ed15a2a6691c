/**
 * Every SQL statement on `lro_streams` and `lro_stream_events` (the `pg` progress-stream adapter),
 * one function each.
 */
import type { EventBody, HistoryPage, StreamAddress, StreamConfig, StreamEvent } from '../streams/types.js';
import type { Db } from './operations.js';

/**
 * Appends a batch: allocates contiguous seqs under the stream row's lock, inserts, evicts what fell
 * out of the ring, and sends one notification. Returns the seqs and timestamps in order.
 */
export async function streamAppend(db: Db, addr: StreamAddress, bodies: EventBody[]): Promise<{ seq: number; ts: string }[]> {
  const { rows } = await db.query<{ seq: number; ts: string }>(
    `WITH s AS (
       INSERT INTO lro_streams AS s (storage, stream, last_seq) VALUES ($1, $2, $4)
       ON CONFLICT (storage, stream) DO UPDATE SET last_seq = s.last_seq + $4
       RETURNING last_seq, max_msgs),
     ins AS (
       INSERT INTO lro_stream_events (storage, stream, seq, ts, event)
       SELECT $1, $2, s.last_seq - $4 + e.ord, clock_timestamp(), e.event
         FROM s, unnest($3::jsonb[]) WITH ORDINALITY AS e(event, ord)
       RETURNING seq, ts),
     evict AS (
       DELETE FROM lro_stream_events d USING s
        WHERE d.storage = $1 AND d.stream = $2
          AND d.seq <= s.last_seq - s.max_msgs)
     SELECT ins.seq::float8 AS seq, to_jsonb(ins.ts) #>> '{}' AS ts FROM ins, (SELECT pg_notify('lro_stream', $1 || ' ' || $2)) n ORDER BY ins.seq`,
    [addr.storage, addr.name, bodies.map((b) => JSON.stringify(b)), bodies.length],
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
