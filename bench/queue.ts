/**
 * lro vs graphile-worker vs pg-boss on the same Postgres, alternating, each run on a fresh database:
 *   throughput — N no-op jobs enqueued in bulk (1,000 a call: the bulk rate), then workers (total
 *                concurrency C) until all are done, with the commits and WAL bytes that cost per job;
 *   latency    — idle workers: enqueue → handler start, and (lro) completion → wait() returns.
 * Usage: npm run bench -- [--rounds 3] [--jobs 20000] [--concurrency 20] [--samples 200] [--only lro,graphile]
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { freshDatabase, machineContext, mdRow, median, pause, percentile } from './lib.js';
import { bulkEnqueue, latencyHooks, runToCompletion, sampleLatency } from './measure.js';
import { backendsGone, dbSnapshot, otherCommits, reserveWal, walBytes, walBytesOf } from './pg-stats.js';
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

interface ThroughputResult {
  rate: number;
  bulkRate: number;
  commitsPerJob: number;
  /** This database's WAL records (pg_walinspect). */
  walPerJob: number;
  /** pg_wal_lsn_diff over the window: every database's. */
  clusterWalPerJob: number;
  otherCommits: number;
}

/**
 * On a fresh database: N jobs enqueued in bulk (timed: the bulk rate), then workers until all are
 * finished (timed: jobs/s). Commits and WAL are counted over the window from the moment the bulk
 * enqueue has returned to the moment the workers have stopped after the last job finished and every
 * connection to the database has closed (so each backend has reported its commits): the workers'
 * claims, heartbeats, completions and stream writes, plus the few statements of stopping. The
 * harness's own `pending()` polls are subtracted from the commits.
 */
async function throughput(make: () => QueueSystem): Promise<ThroughputResult> {
  const sys = make();
  const db = await freshDatabase(`${sys.name}_tp`);
  try {
    await sys.setup(db.url);
    const bulkRate = await bulkEnqueue(sys, JOBS);
    const wal = await reserveWal();
    const before = await dbSnapshot(db.name);
    const { rate, left, polls } = await runToCompletion(sys, { jobs: JOBS, concurrency: CONC, maxMs: MAX_MS });
    await sys.stop();
    await backendsGone(db.name);
    const after = await dbSnapshot(db.name);
    const done = JOBS - left;
    const ownWal = await walBytesOf(db.url, before.lsn, after.lsn).finally(() => wal.release());
    return {
      rate,
      bulkRate,
      commitsPerJob: (after.commits - before.commits - polls) / done,
      walPerJob: ownWal / done,
      clusterWalPerJob: (await walBytes(before.lsn, after.lsn)) / done,
      otherCommits: otherCommits(db.name, before, after),
    };
  } finally {
    await db.drop();
  }
}

async function latency(make: () => QueueSystem, samples: number) {
  const sys = make();
  const db = await freshDatabase(`${sys.name}_lat`);
  try {
    await sys.setup(db.url);
    const h = latencyHooks();
    await sys.start(CONC, h.hooks);
    await pause(500);
    const result = await sampleLatency(sys, h, samples);
    while ((await sys.pending()) > 0) await pause(10);
    await sys.stop();
    return result;
  } finally {
    await db.drop();
  }
}

const tp: Record<string, ThroughputResult[]> = {};
const lat: Record<string, { start: number[]; wait: number[] }> = {};
for (let round = 1; round <= ROUNDS; round++) {
  for (const key of chosen) {
    const r = await throughput(makers[key]!);
    (tp[key] ??= []).push(r);
    console.error(
      `round ${round} ${key}: ${r.rate.toFixed(0)} jobs/s, ${r.commitsPerJob.toFixed(2)} commits/job, ` +
        `${r.walPerJob.toFixed(0)} WAL B/job ` +
        `(cluster-wide ${r.clusterWalPerJob.toFixed(0)}, other dbs ${r.otherCommits} commits), bulk ${r.bulkRate.toFixed(0)} jobs/s`,
    );
  }
  for (const key of chosen) {
    const { startLat, waitLat } = await latency(makers[key]!, key.startsWith('pgboss') ? Math.min(40, SAMPLES) : SAMPLES);
    const l = (lat[key] ??= { start: [], wait: [] });
    l.start.push(...startLat);
    l.wait.push(...waitLat);
    console.error(`round ${round} ${key}: enqueue→start p50 ${percentile(startLat, 50).toFixed(1)} ms`);
  }
}

const med = (key: string, field: keyof ThroughputResult) => median(tp[key]!.map((r) => r[field]));
const base = tp.graphile ? med('graphile', 'rate') : NaN;
const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');
const lines = [
  `Machine: ${await machineContext()}`,
  `${JOBS} no-op jobs, total concurrency ${CONC}, ${ROUNDS} alternating rounds, medians; latency over all samples.`,
  '',
  '| system | jobs/s (median) | × graphile-worker | enqueue→start p50 | p99 | completion→wait p50 | p99 ' +
    '| commits/job | WAL bytes/job | bulk enqueue jobs/s |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...chosen.map((key) => {
    const rate = med(key, 'rate');
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
      fmt(med(key, 'commitsPerJob'), 2),
      fmt(med(key, 'walPerJob'), 0),
      fmt(med(key, 'bulkRate'), 0),
    ]);
  }),
  '',
  'commits/job and WAL bytes/job: from the end of the bulk enqueue to the workers stopped after the last job (claims, heartbeats, ' +
    "completions, stream writes), per finished job; harness polls not counted. WAL: this database's records (pg_walinspect: " +
    'records on its relations, full-page images included, and their commit records); cluster-wide WAL/job (pg_wal_lsn_diff, ' +
    `median ${fmt(median(chosen.flatMap((k) => tp[k]!.map((r) => r.clusterWalPerJob))), 0)}) also held other databases' writes: ` +
    `${fmt(median(chosen.flatMap((k) => tp[k]!.map((r) => r.otherCommits))), 0)} commits in the median window. ` +
    'Bulk enqueue: N jobs, 1,000 a call (lro createMany, graphile-worker addJobs, pg-boss insert), one call at a time.',
];
console.log(lines.join('\n'));
await mkdir('bench/results', { recursive: true });
await writeFile(`bench/results/queue-${Date.now()}.json`, JSON.stringify({ tp, lat, args }, null, 2));
