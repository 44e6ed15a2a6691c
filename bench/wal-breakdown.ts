/**
 * Where lro's WAL goes: one throughput run (bulk enqueue, then workers until done) on a fresh
 * database, and the window's WAL records of that database grouped by relation and record type.
 * Usage: npx tsx bench/wal-breakdown.ts [--jobs 20000] [--streams pg|nats|off] [--system lro|graphile]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freshDatabase } from './lib.js';
import { bulkEnqueue, runToCompletion } from './measure.js';
import { dbSnapshot, reserveWal } from './pg-stats.js';
import { graphileSystem } from './systems/graphile.js';
import { lroSystem } from './systems/lro.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    streams: { type: 'string', default: 'pg' },
    system: { type: 'string', default: 'lro' },
    phase: { type: 'string', default: 'run' },
  },
});
const JOBS = Number(args.jobs);
const sys = args.system === 'graphile' ? graphileSystem() : lroSystem(args.streams as 'pg' | 'nats' | 'off');
const db = await freshDatabase(`walbrk`);
try {
  await sys.setup(db.url);
  const wal = await reserveWal();
  const a = await dbSnapshot(db.name);
  await bulkEnqueue(sys, JOBS);
  const b = await dbSnapshot(db.name);
  await runToCompletion(sys, { jobs: JOBS, concurrency: 20, maxMs: 60_000 });
  await sys.stop();
  const c = await dbSnapshot(db.name);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
  for (const [label, from, to] of [
    ['enqueue', a.lsn, b.lsn],
    ['run', b.lsn, c.lsn],
  ]) {
    const { rows } = await client.query(
      `WITH r AS MATERIALIZED (SELECT * FROM pg_get_wal_records_info($1, $2)),
       me AS (SELECT '/' || oid || '/' AS tag FROM pg_database WHERE datname = current_database()),
       x AS (SELECT r.*, substring(block_ref from '/\\d+/(\\d+)')::oid AS node FROM r, me
              WHERE strpos(r.block_ref, me.tag) > 0 OR resource_manager = 'Transaction')
       SELECT coalesce(c.relname, x.resource_manager) AS rel, x.record_type AS type, count(*)::int AS n,
              round(sum(record_length)::numeric / $3, 1)::float8 AS bytes_per_job,
              round(sum(fpi_length)::numeric / $3, 1)::float8 AS fpi_per_job
         FROM x LEFT JOIN pg_class c ON c.relfilenode = x.node
        GROUP BY 1, 2 ORDER BY 4 DESC`,
      [from, to, JOBS],
    );
    const total = rows.reduce((s, r) => s + r.bytes_per_job, 0);
    console.log(`\n## ${label}: ${total.toFixed(0)} bytes/job`);
    console.table(rows.filter((r) => r.bytes_per_job >= 1));
  }
  await client.end();
  wal.release();
} finally {
  await db.drop();
}
