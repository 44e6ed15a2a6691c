/**
 * lro's default configuration (pg streams) as its tables grow: throughput and enqueue → start latency
 * with 10k, 100k and 1M finished ops (each with its stream's events) already stored, then with 100k
 * ops queued behind the ones being run (same routing, kind and account, due a day later, so they sit
 * in the same claim index range). The tables are filled with copies of one real op run first
 * (INSERT … SELECT generate_series), then VACUUM ANALYZE. Each point alternates, round by round, with
 * a fresh empty database, so that the ratio to empty is taken in the same minutes of a shared machine.
 * Ends with the claim statement's EXPLAIN (ANALYZE, BUFFERS) at the largest size, with 1 op due and with 1,000.
 *
 * Usage: npm run bench:scale -- [--rounds 2] [--jobs 10000] [--samples 200] [--sizes 10000,100000,1000000] [--behind 100000]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { operationClaim } from '../src/lro/sql/operations-claim.js';
import { freshDatabase, machineContext, mdRow, median, pause, percentile } from './lib.js';
import { bulkEnqueue, latencyHooks, runToCompletion, sampleLatency } from './measure.js';
import * as fill from './scale-sql.js';
import { lroSystem } from './systems/lro.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    jobs: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '20' },
    samples: { type: 'string', default: '200' },
    sizes: { type: 'string', default: '10000,100000,1000000' },
    behind: { type: 'string', default: '100000' },
  },
});
const ROUNDS = Number(args.rounds),
  JOBS = Number(args.jobs),
  CONC = Number(args.concurrency),
  SAMPLES = Number(args.samples),
  BEHIND = Number(args.behind);
const SIZES = args.sizes.split(',').map(Number);
/** Rows per fill statement: 100,000 ops and their events take a few seconds, one transaction each. */
const FILL_CHUNK = 100_000;

interface Sample {
  rate: number;
  startLat: number[];
}

/** Throughput (one lro instance: bulk enqueue, workers until done), then latency (a second one, idle workers). */
async function measure(url: string): Promise<Sample> {
  const db = new pg.Pool({ connectionString: url, max: 1 });
  db.on('error', (err) => console.error(`bench pool: ${err.message}`));
  const sys = lroSystem('pg');
  await sys.setup(url);
  await bulkEnqueue(sys, JOBS);
  // Not sys.pending(): a count of every unfinished row would walk the ops queued behind on each poll.
  const pending = async (started: number) => JOBS - started + (await fill.operationRunningCount(db));
  const { rate } = await runToCompletion(sys, { jobs: JOBS, concurrency: CONC, maxMs: 60_000, pending });
  await sys.stop();
  await db.end();
  const lat = lroSystem('pg');
  await lat.setup(url);
  const h = latencyHooks();
  await lat.start(CONC, h.hooks);
  await pause(500);
  const { startLat } = await sampleLatency(lat, h, SAMPLES);
  await lat.stop();
  return { rate, startLat };
}

async function measureEmpty(): Promise<Sample> {
  const db = await freshDatabase('scale_empty');
  try {
    return await measure(db.url);
  } finally {
    await db.drop();
  }
}

/** Runs one op to completion through lro; its row and events are the template of every fill. */
async function runTemplate(url: string): Promise<string> {
  const sys = lroSystem('pg');
  await sys.setup(url);
  await sys.start(1, { started: () => {}, finished: () => {} });
  const id = await sys.enqueueOne(0);
  await sys.waitDone!(id);
  await sys.stop();
  return id;
}

const big = await freshDatabase('scale');
const db = new pg.Pool({ connectionString: big.url, max: 2 });
db.on('error', (err) => console.error(`bench pool: ${err.message}`));
const rows: string[] = [];
const plans: { due: number; plan: string }[] = [];
try {
  const template = await runTemplate(big.url);
  const { storage, events } = await fill.templateStream(db, template);
  console.error(`template op ${template}: ${events} events on its stream`);
  let filled = 1;
  const fillFinishedTo = async (target: number) => {
    const t0 = performance.now();
    const { finished } = await fill.operationCounts(db);
    for (let left = target - finished; left > 0; left -= FILL_CHUNK) {
      await fill.operationFillFinished(db, { template, storage, count: Math.min(FILL_CHUNK, left), offset: filled });
      filled += Math.min(FILL_CHUNK, left);
    }
    await fill.vacuumAnalyze(db);
    console.error(`filled to ${target} finished ops in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  };
  const point = async (label: string) => {
    const before = await fill.operationCounts(db);
    const here: Sample[] = [];
    const empty: Sample[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which goes first, so neither always runs on the warmer (or busier) half of a round.
      const order = round % 2 ? (['empty', 'here'] as const) : (['here', 'empty'] as const);
      for (const which of order) {
        const s = which === 'empty' ? await measureEmpty() : await measure(big.url);
        (which === 'empty' ? empty : here).push(s);
        console.error(`${label} round ${round} ${which}: ${s.rate.toFixed(0)} jobs/s, p50 ${percentile(s.startLat, 50).toFixed(1)} ms`);
      }
    }
    const rate = (ss: Sample[]) => median(ss.map((s) => s.rate));
    const p = (ss: Sample[], q: number) =>
      percentile(
        ss.flatMap((s) => s.startLat),
        q,
      );
    rows.push(
      mdRow([
        label,
        before.finished.toLocaleString('en'),
        before.events.toLocaleString('en'),
        before.queued.toLocaleString('en'),
        rate(here).toFixed(0),
        rate(empty).toFixed(0),
        (rate(here) / rate(empty)).toFixed(2),
        `${p(here, 50).toFixed(1)} ms`,
        `${p(empty, 50).toFixed(1)} ms`,
        (p(here, 50) / p(empty, 50)).toFixed(2),
        `${p(here, 99).toFixed(1)} / ${p(empty, 99).toFixed(1)} ms`,
      ]),
    );
  };

  for (const size of SIZES) {
    await fillFinishedTo(size);
    await point(`${size.toLocaleString('en')} finished`);
  }
  await fill.operationFillQueued(db, { template, storage, count: BEHIND, dueIn: '1 day' });
  await fill.vacuumAnalyze(db);
  await point(`${SIZES.at(-1)!.toLocaleString('en')} finished + ${BEHIND.toLocaleString('en')} queued behind`);

  // The claim as a worker of the default pool sends it: kinds served, 20 free slots, one routing,
  // after its previous claim (account ''). With 1 op due (an idle pool woken by one create, as in the
  // latency runs), then with 1,000 due (a bulk create, as in the throughput runs).
  let claim: { text: string; values: unknown[] } | undefined;
  const capture = { query: async (q: { text: string; values: unknown[] }) => ((claim = q), { rows: [] }) };
  await operationClaim(capture as never, {
    routings: ['hub'],
    kinds: ['noop'],
    limit: CONC,
    worker_id: 'bench-explain',
    owner_type: 'hub',
    after: { hub: '' },
  });
  const sys = lroSystem('pg');
  await sys.setup(big.url);
  const client = await db.connect();
  try {
    await sys.enqueueOne(0);
    plans.push({ due: 1, plan: await fill.explainPrepared(client, claim!.text, claim!.values) });
    await sys.enqueueBulk(999);
    plans.push({ due: 1000, plan: await fill.explainPrepared(client, claim!.text, claim!.values) });
  } finally {
    client.release();
    await sys.stop();
  }
} finally {
  await db.end();
  await big.drop();
}

console.log(
  [
    `Machine: ${await machineContext()}`,
    `lro default configuration (pg streams, events on), ${JOBS} no-op jobs per throughput run, concurrency ${CONC}, ` +
      `${SAMPLES} enqueue→start samples per round, ${ROUNDS} rounds alternating with a fresh empty database; medians ` +
      '(latency over all samples). Each round adds its jobs and samples to the finished ops of the point.',
    '',
    '| tables hold | finished ops | stream events | queued | jobs/s | empty: jobs/s | × empty ' +
      '| enqueue→start p50 | empty: p50 | × empty | p99 / empty p99 |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Queued behind: ${BEHIND.toLocaleString('en')} ops of the same kind, routing and account, due in 1 day ` +
      '(in lro_claim_idx after the due ones).',
    '',
    ...plans.flatMap(({ due, plan }) => [
      '',
      `Claim statement at the largest size with ${due.toLocaleString('en')} op${due === 1 ? '' : 's'} due ` +
        `(generic plan of the prepared statement, kinds ['noop'], limit ${CONC}, after account ''):`,
      '```',
      plan,
      '```',
    ]),
  ].join('\n'),
);
