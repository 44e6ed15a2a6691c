import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { summaryOf } from '../src/lro/op-events.js';
import { summaryEvent } from '../src/lro/sql/stream-events.js';
import { streamOf } from '../src/lro/streams/types.js';
import type { Operation } from '../src/shared/operation.js';
import { openTestLro } from './helpers/lro.js';

// With the pg streams, the statement that changes an op appends its summary (sql/010,
// src/lro/sql/operations-summaries.ts). These pin what that must keep: the very event Node built,
// every state change on the stream in order, and a summary that loses its seq to another writer.
const { lro, url } = await openTestLro();

const summariesOf = async (op: Pick<Operation, 'op_id' | 'scope_type' | 'scope_id'>) =>
  (await lro.streams.backend.history(streamOf(op), 1, 100)).events.flatMap((e) => (e.type === 'summary' ? [e] : []));
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v));

describe('summaries written by the statements that change ops', () => {
  it('every single create keeps its queued summary ahead of the claim that follows at once', async () => {
    const pool = lro.workerPool({ concurrency: 20, serves: ['probe'] });
    await pool.start();
    try {
      // Idle workers claim each op as soon as it commits: a `queued` summary published after the
      // commit lost that race for about 0.6 % of ops (refused as stale by the `running` one).
      const ops = await Promise.all(Array.from({ length: 300 }, () => lro.store.create({ kind: 'probe', scope: { type: 'hub' } })));
      for (const { op } of ops) await lro.wait(op.op_id, 10_000);
      // The first ones find a free slot and nothing queued: inserted running (eager start); the rest queue.
      const eager = ops.filter(({ op }) => op.status === 'running');
      expect(eager.length).toBeGreaterThan(0);
      expect(eager.length).toBeLessThan(ops.length);
      for (const { op } of ops) {
        const summaries = await summariesOf(op);
        const want = op.status === 'running' ? ['running', 'succeeded'] : ['queued', 'running', 'succeeded'];
        expect(summaries.map((e) => e.summary.status)).toEqual(want);
        expect(summaries.map((e) => e.seq)).toEqual(want.map((_, i) => i + 1));
      }
    } finally {
      await pool.stop();
    }
  });

  it('the event is the one summaryOf() builds from the row, in every state a row can hold', async () => {
    const { op } = await lro.store.create({ kind: 'probe', scope: { type: 'project', id: '0d5f6a7e-3c1b-4f2a-9e8d-7b6c5a4f3e2d' } });
    const progress = { phases: [{ phase: 'copy', percent: 40, speed: 3, eta_s: 12 }, { phase: 'verify' }], percent: 20 };
    const error = { code: 'boom', message: 'it broke' };
    // Rows as the transitions leave them, written directly: the builder is checked, not the transitions.
    const states = [
      `status = 'running', attempt = 1, owner_id = 'w', heartbeat_at = now(), started_at = now(), progress_summary = v.progress`,
      `status = 'queued', attempt = 1, owner_id = NULL, heartbeat_at = NULL, last_error = v.error, run_at = now() + interval '5 s'`,
      `status = 'failed', attempt = 3, finished_at = now(), error = v.error, last_error = v.error, progress_summary = v.progress`,
      `status = 'succeeded', error = NULL, last_error = v.error, result = '{"n": 1}', cancel_requested_at = now()`,
      `status = 'succeeded', result = NULL, last_error = NULL, cancel_requested_at = NULL, progress_summary = '{"phases": 3}'`,
    ];
    for (const set of states) {
      const { rows } = await lro.db.query<Operation & { event: unknown }>(
        `WITH v AS (SELECT $2::jsonb AS progress, $3::jsonb AS error)
         UPDATE long_running_operations o SET ${set} FROM v WHERE op_id = $1 RETURNING o.*, ${summaryEvent('o')} AS event`,
        [op.op_id, progress, error],
      );
      const { event, ...row } = rows[0]!;
      expect(event).toEqual(asJson({ type: 'summary', summary: summaryOf(row as Operation) }));
    }
  });

  it('a summary that loses its seq to another writer of the stream is written after it, and the change still lands', async () => {
    const { op } = await lro.store.create({ kind: 'probe', scope: { type: 'hub' } });
    const addr = streamOf(op);
    // Another writer holds seq 2 of the op's stream, uncommitted, while the cancel appends its summary.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `INSERT INTO lro_stream_events (storage, stream, seq, event, epoch) VALUES ($1, $2, 2, '{"type": "progress", "phase": "x"}', 0)`,
        [addr.storage, addr.name],
      );
      const canceled = lro.store.cancel(op.op_id);
      // The cancel's insert waits on that row's unique-index entry until the other writer commits.
      for (;;) {
        const { rows } = await other.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (rows[0].n > 0) break;
      }
      await other.query('COMMIT');
      expect((await canceled).status).toBe('canceled');
    } finally {
      await other.end();
    }
    const events = (await lro.streams.backend.history(addr, 1, 10)).events;
    expect(events.map((e) => [e.seq, e.type === 'summary' ? e.summary.status : e.type])).toEqual([
      [1, 'queued'],
      [2, 'progress'],
      [3, 'canceled'],
    ]);
  });
});

describe('op ids', () => {
  it('are version-7 UUIDs in creation order, so new ops land at the right edge of the keys', async () => {
    const first = (await lro.store.create({ kind: 'probe', scope: { type: 'hub' } })).op.op_id;
    const many = await lro.store.createMany(Array.from({ length: 50 }, () => ({ kind: 'probe', scope: { type: 'hub' } })));
    for (const id of [first, ...many]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = (id: string) => parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(ms(many[0]!)).toBeGreaterThanOrEqual(ms(first));
    expect(Math.abs(ms(first) - Date.now())).toBeLessThan(60_000);
  });
});
