/**
 * lro vs graphile-worker vs pg-boss on the same Postgres, alternating, each run on a fresh database:
 *   throughput — N no-op jobs enqueued in bulk, then workers (total concurrency C) until all are done;
 *   latency    — idle workers: enqueue → handler start, and (lro) completion → wait() returns.
 * Usage: npm run bench -- [--rounds 3] [--jobs 20000] [--concurrency 20] [--samples 200] [--only lro,graphile]
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { freshDatabase, machineContext, mdRow, median, pause, percentile } from './lib.js';
import { graphileSystem } from './systems/graphile.js';
import { lroSystem } from './systems/lro.js';
import { pgBossSystem } from './systems/pgboss.js';
import type { QueueSystem } from './systems/types.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '20' },
    samples: { type: 'string', default: '200' },
    only: { type: 'string' },
    'max-seconds': { type: 'string', default: '30' },
  },
});
/** A run slower than this is cut off and rated by the jobs it finished (pg-boss at batch 20 needs ~500 s). */
const MAX_MS = Number(args['max-seconds']) * 1000;
const ROUNDS = Number(args.rounds),
  JOBS = Number(args.jobs),
  CONC = Number(args.concurrency),
  SAMPLES = Number(args.samples);

const makers: Record<string, () => QueueSystem> = {
  lro: () => lroSystem('pg'),
  'lro-nats': () => lroSystem('nats'),
  'lro-off': () => lroSystem('off'),
  graphile: () => graphileSystem(),
  'pgboss-c': () => pgBossSystem(CONC),
  'pgboss-1000': () => pgBossSystem(1000),
};
const chosen = args.only ? args.only.split(',') : Object.keys(makers);

async function throughput(make: () => QueueSystem): Promise<number> {
  const sys = make();
  const db = await freshDatabase(`${sys.name}_tp`);
  try {
    await sys.setup(db.url);
    await sys.enqueueBulk(JOBS);
    let started = 0;
    let allStarted!: () => void;
    const everyoneStarted = new Promise<void>((r) => {
      allStarted = r;
    });
    const t0 = performance.now();
    const deadline = t0 + MAX_MS;
    await sys.start(CONC, {
      started: () => {
        if (++started === JOBS) allStarted();
      },
      finished: () => {},
    });
    await Promise.race([everyoneStarted, pause(MAX_MS)]);
    let pending = await sys.pending();
    while (pending > 0 && performance.now() < deadline) {
      await pause(10);
      pending = await sys.pending();
    }
    const seconds = (performance.now() - t0) / 1000;
    await sys.stop();
    if (pending > 0) console.error(`  ${sys.name}: cut off after ${seconds.toFixed(0)} s with ${pending} jobs left`);
    return (JOBS - pending) / seconds;
  } finally {
    await db.drop();
  }
}

async function latency(make: () => QueueSystem, samples: number) {
  const sys = make();
  const db = await freshDatabase(`${sys.name}_lat`);
  const startLat: number[] = [];
  const waitLat: number[] = [];
  try {
    await sys.setup(db.url);
    const started = new Map<number, (t: number) => void>();
    const finishedAt = new Map<number, number>();
    await sys.start(CONC, {
      started: (seq) => seq !== undefined && started.get(seq)?.(performance.now()),
      finished: (seq) => seq !== undefined && finishedAt.set(seq, performance.now()),
    });
    await pause(500);
    for (let i = 0; i < samples; i++) {
      const began = new Promise<number>((r) => started.set(i, r));
      const t0 = performance.now();
      const id = await sys.enqueueOne(i);
      startLat.push((await began) - t0);
      if (sys.waitDone) {
        await sys.waitDone(id);
        waitLat.push(performance.now() - finishedAt.get(i)!);
      }
      await pause(5);
    }
    while ((await sys.pending()) > 0) await pause(10);
    await sys.stop();
  } finally {
    await db.drop();
  }
  return { startLat, waitLat };
}

const tp: Record<string, number[]> = {};
const lat: Record<string, { start: number[]; wait: number[] }> = {};
for (let round = 1; round <= ROUNDS; round++) {
  for (const key of chosen) {
    const rate = await throughput(makers[key]!);
    (tp[key] ??= []).push(rate);
    console.error(`round ${round} ${key}: ${rate.toFixed(0)} jobs/s`);
  }
  for (const key of chosen) {
    const { startLat, waitLat } = await latency(makers[key]!, key.startsWith('pgboss') ? Math.min(40, SAMPLES) : SAMPLES);
    const l = (lat[key] ??= { start: [], wait: [] });
    l.start.push(...startLat);
    l.wait.push(...waitLat);
    console.error(`round ${round} ${key}: enqueue→start p50 ${percentile(startLat, 50).toFixed(1)} ms`);
  }
}

const base = median(tp.graphile ?? [NaN]);
const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');
const lines = [
  `Machine: ${await machineContext()}`,
  `${JOBS} no-op jobs, total concurrency ${CONC}, ${ROUNDS} alternating rounds, medians; latency over all samples.`,
  '',
  '| system | jobs/s (median) | × graphile-worker | enqueue→start p50 | p99 | completion→wait p50 | p99 |',
  '|---|---|---|---|---|---|---|',
  ...chosen.map((key) => {
    const rate = median(tp[key]!);
    const l = lat[key]!;
    const ms = (samples: number[], p: number) => (samples.length ? `${fmt(percentile(samples, p))} ms` : '—');
    return mdRow([
      makers[key]!().name,
      fmt(rate, 0),
      fmt(rate / base, 2),
      ms(l.start, 50),
      ms(l.start, 99),
      ms(l.wait, 50),
      ms(l.wait, 99),
    ]);
  }),
];
console.log(lines.join('\n'));
await mkdir('bench/results', { recursive: true });
await writeFile(`bench/results/queue-${Date.now()}.json`, JSON.stringify({ tp, lat, args }, null, 2));
