/**
 * CPU per job of this checkout against another (`--base <dir>`), for a busy machine where jobs/s
 * says little: each round runs one throughput run per checkout (alternating which goes first) in a
 * child process and reads the CPU it cost, Node's own (process.cpuUsage) plus the Postgres backends
 * of the bench database (/proc of the pids in pg_stat_activity), per job, for the bulk enqueue and
 * for the run. The box is CPU-bound, so jobs/s on a quiet machine goes as 1 / CPU per job.
 * Usage: npx tsx bench/cpu-ab.ts --base /work/wt/base [--rounds 3] [--jobs 10000] [--system lro|lro-nats|lro-off|graphile]
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { backendPids, freshDatabase, median, nodeCpu, procCpuSeconds } from './lib.js';
import { bulkEnqueue, runToCompletion } from './measure.js';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    child: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '10000' },
    system: { type: 'string', default: 'lro' },
  },
});
const JOBS = Number(args.jobs);

/** CPU seconds of the bench database's backends, by pid. */
async function backendCpu(url: string): Promise<Map<number, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const pids = await backendPids(c);
  await c.end();
  const cpu = new Map<number, number>();
  for (const pid of pids) {
    const s = procCpuSeconds(pid);
    if (s !== null) cpu.set(pid, s);
  }
  return cpu;
}
const delta = (a: Map<number, number>, b: Map<number, number>) => [...b].reduce((s, [pid, t]) => s + t - (a.get(pid) ?? 0), 0);

async function child(dir: string): Promise<void> {
  const sysMod = args.system === 'graphile' ? 'graphile' : 'lro';
  const mod = await import(resolve(dir, `bench/systems/${sysMod}.ts`));
  const streams = ({ lro: 'pg', 'lro-nats': 'nats', 'lro-off': 'off' } as const)[args.system as 'lro'];
  const sys = sysMod === 'graphile' ? mod.graphileSystem() : mod.lroSystem(streams);
  const db = await freshDatabase('cpuab');
  try {
    await sys.setup(db.url);
    // the setup's own connections are open: count from here
    const [n0, p0] = [nodeCpu(), await backendCpu(db.url)];
    const bulkRate = await bulkEnqueue(sys, JOBS);
    const [n1, p1] = [nodeCpu(), await backendCpu(db.url)];
    const { rate } = await runToCompletion(sys, { jobs: JOBS, concurrency: 20, maxMs: 120_000 });
    const [n2, p2] = [nodeCpu(), await backendCpu(db.url)];
    await sys.stop();
    const us = (s: number) => Math.round((s * 1e6) / JOBS);
    const cpu = { bulkNode: us(n1 - n0), bulkPg: us(delta(p0, p1)), runNode: us(n2 - n1), runPg: us(delta(p1, p2)) };
    console.log(JSON.stringify({ ...cpu, rate, bulkRate }));
  } finally {
    await db.drop();
  }
}

if (args.child) await child(args.child);
else {
  if (!args.base) throw new Error('--base <dir> is required');
  const dirs = { base: resolve(args.base), this: process.cwd() };
  const got: Record<string, Record<string, number>[]> = { base: [], this: [] };
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const which of (round % 2 ? ['base', 'this'] : ['this', 'base']) as (keyof typeof dirs)[]) {
      const out = execFileSync('npx', ['tsx', 'bench/cpu-ab.ts', '--child', dirs[which], '--jobs', args.jobs!, '--system', args.system!], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const r = JSON.parse(out.trim().split('\n').at(-1)!);
      got[which]!.push(r);
      console.log(`round ${round} ${which}: ${JSON.stringify(r)}`);
    }
  }
  for (const k of ['bulkNode', 'bulkPg', 'runNode', 'runPg']) {
    const [b, t] = [median(got.base!.map((r) => r[k]!)), median(got.this!.map((r) => r[k]!))];
    console.log(`${k}: base ${b} µs/job, this ${t} µs/job, this/base ${(t / b).toFixed(2)}`);
  }
  const tot = (r: Record<string, number>) => r.runNode! + r.runPg!;
  console.log(`run total: base ${median(got.base!.map(tot))}, this ${median(got.this!.map(tot))} µs/job`);
}
