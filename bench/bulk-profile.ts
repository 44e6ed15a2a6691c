/**
 * Where a bulk create's time goes: 20 calls of createMany(1,000) on a fresh database, timing the
 * statement (client side) against the whole call, then EXPLAIN (ANALYZE, BUFFERS, WAL) of that
 * statement for 1,000 more rows (rolled back). Usage: npx tsx bench/bulk-profile.ts [pg|off|nats]
 */
import { freshDatabase, median } from './lib.js';
import { lroSystem } from './systems/lro.js';

const mode = (process.argv[2] ?? 'pg') as 'pg' | 'off' | 'nats';
const db = await freshDatabase(`bulkprof_${mode}`);
const sys = lroSystem(mode);
await sys.setup(db.url);
const calls: number[] = [];
const stmt: number[] = [];
let last: { text: string; values: unknown[] } | undefined;
const orig = (await import('pg')).default.Pool.prototype.query;
(await import('pg')).default.Pool.prototype.query = function (this: unknown, ...a: unknown[]) {
  const cfg = a[0] as { text?: string; name?: string; values?: unknown[] };
  if (typeof cfg === 'object' && cfg?.name?.includes('insert-many')) {
    last = { text: cfg.text!, values: cfg.values! };
    const t0 = performance.now();
    const p = (orig as (...x: unknown[]) => Promise<unknown>).apply(this, a);
    return p.then((r) => (stmt.push(performance.now() - t0), r));
  }
  return (orig as (...x: unknown[]) => unknown).apply(this, a);
} as never;
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  await sys.enqueueBulk(1000);
  calls.push(performance.now() - t0);
}
console.log(
  `${mode}: call median ${median(calls).toFixed(1)} ms, statement median ${median(stmt).toFixed(1)} ms (${stmt.length} statements)`,
);
if (last) {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query('BEGIN');
  const { rows } = await c.query(
    `EXPLAIN (ANALYZE, BUFFERS, WAL) ${last.text}`,
    last.values.map((v, i) => (i === 0 ? `{${Array.from({ length: 1000 }, () => crypto.randomUUID()).join(',')}}` : v)),
  );
  await c.query('ROLLBACK');
  console.log(last.text);
  console.log(rows.map((r) => r['QUERY PLAN']).join('\n'));
  await c.end();
}
await sys.stop();
await db.drop();
