/**
 * Throughput of this checkout against another (`--base <dir>`, e.g. the commit before a change to the
 * claim), in alternating rounds of `npm run bench -- --rounds 1 --only <system>` in each, so that a
 * busy machine's drift hits both alike. Prints every round and the ratio of the medians.
 * Usage: npx tsx bench/claim-ab.ts --base /tmp/lro-base [--rounds 3] [--only lro] [--jobs 20000]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { median } from './lib.js';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: 'lro' },
    jobs: { type: 'string', default: '20000' },
  },
});
if (!args.base) throw new Error('--base <dir> is required');
const dirs = { base: args.base, this: process.cwd() };
const rates: Record<keyof typeof dirs, number[]> = { base: [], this: [] };

for (let round = 1; round <= Number(args.rounds); round++) {
  // Alternate which goes first, so neither always runs on the warmer (or busier) half of a round.
  const order = (round % 2 ? ['base', 'this'] : ['this', 'base']) as (keyof typeof dirs)[];
  for (const which of order) {
    const out = execFileSync('npx', ['tsx', 'bench/queue.ts', '--rounds', '1', '--only', args.only, '--jobs', args.jobs], {
      cwd: dirs[which],
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const row = out.split('\n').find((l) => l.startsWith('| lro'));
    const rate = Number(row?.split('|')[2]);
    if (!Number.isFinite(rate)) throw new Error(`no throughput in the output of ${which}:\n${out}`);
    rates[which].push(rate);
    console.log(`round ${round} ${which}: ${rate} jobs/s`);
  }
}
const [b, t] = [median(rates.base), median(rates.this)];
console.log(`medians: base ${b} jobs/s, this ${t} jobs/s, this/base ${(t / b).toFixed(3)}`);
