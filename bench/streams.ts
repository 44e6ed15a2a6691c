/**
 * Progress streams: one op publishing as fast as it can for D seconds with S subscribers (in one
 * process, as a hub serving S browsers would be), for each adapter. Prints events/s published,
 * events/s delivered to each subscriber (the slowest), publish → subscriber latency p50/p99, and CPU
 * per 1,000 events (this process, and the server: Postgres or nats-server).
 * Usage: npm run bench:streams -- [--seconds 10] [--subscribers 100] [--only pg,nats]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Lro } from '../src/app/lro.js';
import { migrate } from '../src/db/migrate.js';
import { openNatsStreams, type ProgressStreams } from '../src/lro/streams/index.js';
import { freshDatabase, machineContext, mdRow, percentile, serverCpu } from './lib.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    subscribers: { type: 'string', default: '100' },
    only: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds),
  SUBS = Number(args.subscribers);
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
/** Publishes outstanding at once (the publisher waits for them before sending more). */
const MAX_IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 1000);

async function run(adapter: 'pg' | 'nats') {
  const db = await freshDatabase(`streams_${adapter}`);
  await migrate(db.url);
  const lro = new Lro({ connectionString: db.url });
  const streams: ProgressStreams = adapter === 'pg' ? lro.streams : await openNatsStreams(natsUrl);
  const addr = { storage: `persist.project-${randomUUID()}`, name: `lro.${randomUUID()}` };
  const ac = new AbortController();
  setMaxListeners(SUBS + 10, ac.signal);
  const latencies: number[] = [];
  const delivered = new Array<number>(SUBS).fill(0);
  let lastSeq = Infinity;
  let allDone!: () => void;
  const done = new Promise<void>((r) => {
    allDone = r;
  });
  let finished = 0;
  const seen = new Array<number>(SUBS).fill(0);
  const checkDone = () => {
    if (seen.every((n) => n >= lastSeq)) allDone();
  };
  const readers = delivered.map(async (_, k) => {
    reading: for await (const batch of streams.readBatches(addr, { signal: ac.signal })) {
      const now = performance.timeOrigin + performance.now();
      for (const item of batch) {
        if (item.type === 'gap') continue;
        delivered[k]!++;
        if (item.type === 'progress' && item.seq % 10 === 0) latencies.push(now - (item.detail as { t: number }).t);
        seen[k] = item.seq;
        if (item.seq >= lastSeq) break reading;
      }
    }
    if (++finished === SUBS) allDone();
  });

  const server = adapter === 'pg' ? 'postgres' : 'nats-server';
  const cpu0 = process.cpuUsage(),
    srv0 = serverCpu(server),
    t0 = performance.now();
  let published = 0;
  let inFlight: Promise<unknown>[] = [];
  while (performance.now() - t0 < SECONDS * 1000) {
    const t = performance.timeOrigin + performance.now();
    inFlight.push(
      streams.publish(addr, [{ type: 'progress', phase: 'bench', progress: { current: published, total: 1e9 }, detail: { t } }]),
    );
    published++;
    if (inFlight.length >= MAX_IN_FLIGHT) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  const last = (await Promise.all(inFlight)).at(-1) as { seq: number }[] | undefined;
  const publishSeconds = (performance.now() - t0) / 1000;
  lastSeq = last?.[0]?.seq ?? published;
  checkDone();
  const timeout = setTimeout(() => ac.abort(), 60_000);
  await Promise.race([done, new Promise((r) => ac.signal.addEventListener('abort', r))]);
  const deliverSeconds = (performance.now() - t0) / 1000;
  clearTimeout(timeout);
  const cpu = process.cpuUsage(cpu0),
    srv = serverCpu(server) - srv0;
  ac.abort();
  await Promise.allSettled(readers);
  if (streams !== lro.streams) await streams.close();
  await lro.close();
  await db.drop();
  const slowest = Math.min(...delivered);
  return {
    adapter,
    published,
    publishRate: published / publishSeconds,
    deliverRate: slowest / deliverSeconds,
    complete: slowest >= published,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    nodeCpuPer1k: ((cpu.user + cpu.system) / 1000 / published) * 1000,
    serverCpuPer1k: ((srv * 1000) / published) * 1000,
  };
}

const adapters = (args.only?.split(',') ?? ['pg', 'nats']) as ('pg' | 'nats')[];
const results = [];
for (const a of adapters) {
  results.push(await run(a));
  console.error(`${a}: done`);
}
console.log(`Machine: ${await machineContext()}`);
console.log(`One op publishing for ${SECONDS} s, ${SUBS} subscribers in one process.\n`);
const head = ['adapter', 'published', 'events/s published', 'events/s delivered (each subscriber)', 'all delivered'];
console.log(mdRow([...head, 'latency p50', 'p99', 'CPU ms / 1,000 events (node + server)']));
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const cpu = `${r.nodeCpuPer1k.toFixed(1)} + ${r.serverCpuPer1k.toFixed(1)}`;
  const [rates, latency] = [
    [r.publishRate.toFixed(0), r.deliverRate.toFixed(0)],
    [`${r.p50.toFixed(1)} ms`, `${r.p99.toFixed(1)} ms`],
  ];
  console.log(mdRow([r.adapter, r.published, ...rates, r.complete ? 'yes' : 'no', ...latency, cpu]));
}
