/**
 * The bulk enqueue alone (bench/queue.ts's first phase): N no-op jobs, 1,000 a call, one call at a
 * time, each system on a fresh database, alternating; medians and each one's ratio to graphile-worker's
 * addJobs in the same run. No workers: a quick A/B of the create path.
 * Usage: npx tsx bench/bulk.ts [--rounds 5] [--jobs 20000] [--only lro,lro-off,lro-nats,graphile]
 */
import { parseArgs } from 'node:util';
import { freshDatabase, median } from './lib.js';
import { bulkEnqueue } from './measure.js';
import { graphileSystem } from './systems/graphile.js';
import { lroSystem } from './systems/lro.js';
import type { QueueSystem } from './systems/types.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    jobs: { type: 'string', default: '20000' },
    only: { type: 'string', default: 'lro,lro-off,lro-nats,graphile' },
  },
});
const makers: Record<string, () => QueueSystem> = {
  lro: () => lroSystem('pg'),
  'lro-nats': () => lroSystem('nats'),
  'lro-off': () => lroSystem('off'),
  graphile: () => graphileSystem(),
};
const chosen = args.only.split(',');
const rates: Record<string, number[]> = {};

for (let round = 1; round <= Number(args.rounds); round++) {
  for (const key of chosen) {
    const sys = makers[key]!();
    const db = await freshDatabase(`${key}_bulk`);
    try {
      await sys.setup(db.url);
      const rate = await bulkEnqueue(sys, Number(args.jobs));
      (rates[key] ??= []).push(rate);
      console.error(`round ${round} ${key}: bulk ${rate.toFixed(0)} jobs/s`);
      await sys.stop();
    } finally {
      await db.drop();
    }
  }
}
const base = rates.graphile ? median(rates.graphile) : NaN;
for (const key of chosen) {
  const m = median(rates[key]!);
  console.log(`${key.padEnd(10)} median ${m.toFixed(0).padStart(7)} jobs/s  ${(m / base).toFixed(2)}x graphile`);
}
