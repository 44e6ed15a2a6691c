/**
 * The WAL floor of an op's run (claim + completion, with a `summary` event on the op's stream at
 * each): deterministic bytes per op, by relation and record type, for lro as it is (`a`: the real
 * statements of src/, on the schema of sql/) and for plain-SQL variants of the design
 * (bench/wal-floor-variants.ts): a HOT-updatable op record with a queue table (b), compact summary
 * rows (c), both (d).
 *
 * Every variant's ops are the same rows: `a` inserts N ops with lro's createMany (each with its
 * `queued` summary), every variant's schema is seeded with copies of them. Then each variant's window
 * runs alone: claims of `batch` ops, each followed by the completion of those ops (one statement and
 * one commit each, as a worker pool at concurrency ≥ batch does). Two passes on two fresh databases:
 *   steady  — no checkpoint in the windows: no full-page images (a long run between checkpoints);
 *   fpi     — one CHECKPOINT after seeding: every page a window touches costs one full-page image
 *             (the worst case; a real run pays these once per page per checkpoint interval).
 * Usage: npx tsx bench/wal-floor.ts [--ops 10000] [--batch 10] [--detail a,d] [--only a,a2,b,d]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import { Lro } from '../src/app/lro.js';
import { migrate } from '../src/db/migrate.js';
import { KindRegistry } from '../src/lro/kinds.js';
import { operationClaim, operationCompleteMany } from '../src/lro/sql/operations.js';
import { appendSummariesThrough } from '../src/lro/sql/operations-summaries.js';
import { freshDatabase } from './lib.js';
import { reserveWal } from './pg-stats.js';
import { claimSql, completeSql, setupSql, VARIANTS } from './wal-floor-variants.js';

const { values: args } = parseArgs({
  options: {
    ops: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '10' },
    detail: { type: 'string', default: '' },
    only: { type: 'string' },
  },
});
const N = Number(args.ops);
const B = Number(args.batch);
const KEYS = ['a', ...VARIANTS.map((v) => v.key)].filter((k) => !args.only || args.only.split(',').includes(k));

type Pass = 'steady' | 'fpi';
/** Per variant, the mean size of a stored summary row (running, succeeded). */
const eventRowBytes = new Map<string, number | null>();
interface Row {
  rel: string;
  type: string;
  n: number;
  main: number;
  fpi: number;
}

/** One window: `claim(limit)` until no op is left, each claim's ops completed by `complete`. */
async function window(
  db: pg.Pool,
  claim: () => Promise<{ op_id: string; lease_epoch: number }[]>,
  complete: (ops: { op_id: string; lease_epoch: number }[]) => Promise<void>,
): Promise<{ from: string; to: string; done: number }> {
  const lsn = async () => (await db.query(`SELECT pg_current_wal_insert_lsn()::text AS l`)).rows[0].l as string;
  const from = await lsn();
  let done = 0;
  for (;;) {
    const ops = await claim();
    if (ops.length === 0) break;
    await complete(ops);
    done += ops.length;
  }
  return { from, to: await lsn(), done };
}

/**
 * The window's WAL records on this database's relations, and the commit records of their
 * transactions, by relation (heap or index, with the variant's schema) and record type.
 */
async function walRows(db: pg.Pool, from: string, to: string, ops: number): Promise<Row[]> {
  const { rows } = await db.query(
    `WITH r AS MATERIALIZED (SELECT * FROM pg_get_wal_records_info($1, $2)),
     me AS (SELECT '/' || oid || '/' AS tag FROM pg_database WHERE datname = current_database()),
     mine AS (SELECT r.*, substring(block_ref from '/\\d+/(\\d+)')::oid AS node FROM r, me WHERE strpos(r.block_ref, me.tag) > 0),
     x AS (SELECT * FROM mine
           UNION ALL SELECT r.*, NULL FROM r WHERE r.resource_manager = 'Transaction' AND r.xid::text IN (SELECT xid::text FROM mine))
     SELECT coalesce(c.relname, x.resource_manager) AS rel, x.record_type AS type, count(*)::int AS n,
            sum(x.record_length - x.fpi_length)::float8 / $3 AS main, sum(x.fpi_length)::float8 / $3 AS fpi
       FROM x LEFT JOIN pg_class c ON c.relfilenode = x.node
      GROUP BY 1, 2 ORDER BY 4 DESC`,
    [from, to, ops],
  );
  return rows;
}

/** What a relation is, for the summary columns: the op row, its indexes, queue/lease, event row, event index. */
function part(rel: string): string {
  if (/^(long_running_operations|ops)$/.test(rel)) return 'op heap';
  if (/^(long_running_operations_|lro_(?!stream)|ops_)/.test(rel)) return 'op idx';
  if (/^(q|lease)(_|$)/.test(rel)) return 'queue';
  if (/^(lro_stream_events|ev)$/.test(rel)) return 'ev heap';
  if (/^(lro_stream_events_|ev_)/.test(rel)) return 'ev idx';
  return 'commit/other';
}
const PARTS = ['op heap', 'op idx', 'queue', 'ev heap', 'ev idx', 'commit/other'];

async function pass(which: Pass, keys: string[]): Promise<Map<string, Row[]>> {
  const chosen = VARIANTS.filter((v) => keys.includes(v.key));
  const fresh = await freshDatabase(`walfloor_${which}`);
  const out = new Map<string, Row[]>();
  try {
    await migrate(fresh.url);
    const kinds = new KindRegistry().register({ name: 'noop', input: z.object({}), result: z.null(), run: async () => null });
    const lro = await Lro.open({ connectionString: fresh.url, kinds, poolSize: 2, events: true, streamsSpec: 'pg' });
    for (let i = 0; i < N; i += 1000)
      await lro.store.createMany(
        Array.from({ length: Math.min(1000, N - i) }, () => ({ kind: 'noop', scope: { type: 'hub' }, input: {} })),
      );
    await lro.close();
    const db = new pg.Pool({ connectionString: fresh.url, max: 1 });
    appendSummariesThrough(db); // as an Lro with `pg` streams: claims and completions append the summaries
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
    for (const v of chosen) await db.query(setupSql(v));
    const wal = await reserveWal(); // the windows' segments stay until they are read
    if (which === 'fpi') await db.query('CHECKPOINT');
    const windows: [string, { from: string; to: string; done: number }][] = [];
    if (keys.includes('a'))
      windows.push([
        'a',
        await window(
          db,
          () => operationClaim(db, { routings: ['hub'], kinds: null, limit: B, worker_id: 'worker-1', owner_type: 'hub' }),
          async (ops) => {
            await operationCompleteMany(db, {
              done: ops.map((o) => ({ op_id: o.op_id, epoch: o.lease_epoch, result: null, summary: undefined })),
            });
          },
        ),
      ]);
    for (const v of chosen) {
      const [claim, complete] = [claimSql(v), completeSql(v)];
      windows.push([
        v.key,
        await window(
          db,
          async () => (await db.query(claim, [B])).rows,
          async (ops) => {
            await db.query(complete, [ops.map((o) => o.op_id), ops.map((o) => o.lease_epoch)]);
          },
        ),
      ]);
    }
    for (const [key, w] of windows) {
      if (w.done !== N) throw new Error(`${key}: ${w.done} of ${N} ops ran`);
      out.set(key, await walRows(db, w.from, w.to, N));
      const ev = key === 'a' ? 'public.lro_stream_events' : `${key}.ev`;
      const { rows } = await db.query(`SELECT avg(pg_column_size(e.*))::int AS b FROM ${ev} e WHERE seq > 1`).catch(() => ({ rows: [{}] }));
      eventRowBytes.set(key, rows[0].b ?? null);
    }
    await wal.release();
    await db.end();
  } finally {
    await fresh.drop();
  }
  return out;
}

// A checkpoint that falls in a steady window (checkpoint_timeout, or other databases' WAL) puts
// full-page images in it: those windows run again (an FPI also drops the data it covers, so the
// record bytes of such a window are not the steady figure).
const steady = await pass('steady', KEYS);
const hit = (m: Map<string, Row[]>) => [...m].filter(([, rows]) => rows.some((r) => r.fpi > 0)).map(([k]) => k);
for (let again = hit(steady), tries = 0; again.length > 0 && tries < 3; again = hit(steady), tries++) {
  console.error(`a checkpoint fell in the steady windows of ${again.join(', ')}: running them again`);
  for (const [k, rows] of await pass('steady', again)) steady.set(k, rows);
}
const fpi = await pass('fpi', KEYS);
const sum = (rows: Row[], f: (r: Row) => number, p?: string) => rows.filter((r) => !p || part(r.rel) === p).reduce((s, r) => s + f(r), 0);
const what = (key: string) => (key === 'a' ? 'lro now (src/ statements)' : VARIANTS.find((v) => v.key === key)!.what);
const f0 = (n: number) => n.toFixed(0);

console.log(`\n${N} ops, claims and completions of ${B} ops a statement; WAL bytes per op (record bytes, full-page images apart)\n`);
console.log(`| variant | what | event row B | ${PARTS.join(' | ')} | steady total | FPI after checkpoint | with FPIs |`);
console.log(`|---|---|---:|${PARTS.map(() => '---:').join('|')}|---:|---:|---:|`);
for (const key of KEYS) {
  const rows = steady.get(key)!;
  const steadyFpi = sum(rows, (r) => r.fpi);
  const cp = fpi.get(key)!;
  const cells = PARTS.map((p) => f0(sum(rows, (r) => r.main, p)));
  const total = sum(rows, (r) => r.main) + steadyFpi;
  const withFpi = sum(cp, (r) => r.main + r.fpi);
  console.log(
    `| ${key} | ${what(key)} | ${eventRowBytes.get(key) ?? '—'} | ${cells.join(' | ')} | ` +
      `${f0(total)}${steadyFpi > 0 ? ` (FPI ${f0(steadyFpi)}: a checkpoint ran)` : ''} ` +
      `| ${f0(sum(cp, (r) => r.fpi))} | ${f0(withFpi)} |`,
  );
}
for (const key of args.detail === 'all' ? KEYS : args.detail.split(',').filter(Boolean)) {
  console.log(`\n## ${key}: ${what(key)} (steady, bytes per op)`);
  console.table(
    steady
      .get(key)!
      .filter((r) => r.main >= 0.5)
      .map((r) => ({ rel: r.rel, type: r.type, per_op: +(r.n / N).toFixed(2), bytes: +r.main.toFixed(1) })),
  );
}
