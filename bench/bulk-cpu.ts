/**
 * CPU of the bulk enqueue alone (N jobs, 1,000 a call), for a busy machine where jobs/s says little:
 * Node's own (process.cpuUsage) plus the Postgres backends of the bench database and nats-server
 * (/proc; nats-server's is anyone's), µs per job, for each system of this checkout and, with
 * `--base <dir>`, of another; alternating, each run in a child process on a fresh database.
 * graphile-worker's addJobs is the yardstick.
 * Usage: npx tsx bench/bulk-cpu.ts [--base /tmp/base] [--rounds 3] [--jobs 20000] [--only lro,lro-off,lro-nats,graphile]
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { backendPids, freshDatabase, median, nodeCpu, procCpuSeconds, serverCpu } from './lib.js';
import { bulkEnqueue } from './measure.js';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    child: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '20000' },
    only: { type: 'string', default: 'lro,lro-off,lro-nats,graphile' },
  },
});
const JOBS = Number(args.jobs);

/** CPU seconds of the bench database's backends (clock ticks, /proc), summed. */
async function backendCpu(c: pg.Client): Promise<number> {
  return (await backendPids(c)).reduce((s, pid) => s + (procCpuSeconds(pid) ?? 0), 0);
}

async function child(dir: string, system: string): Promise<void> {
  const isGraphile = system === 'graphile';
  const mod = await import(resolve(dir, `bench/systems/${isGraphile ? 'graphile' : 'lro'}.ts`));
  const streams = ({ lro: 'pg', 'lro-nats': 'nats', 'lro-off': 'off' } as const)[system as 'lro'];
  const sys = isGraphile ? mod.graphileSystem() : mod.lroSystem(streams);
  const db = await freshDatabase('bulkcpu');
  try {
    await sys.setup(db.url);
    await sys.enqueueBulk(2000); // warm: prepared statements, pools
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const [n0, p0, s0] = [nodeCpu(), await backendCpu(c), serverCpu('nats-server')];
    const rate = await bulkEnqueue(sys, JOBS);
    const [n1, p1, s1] = [nodeCpu(), await backendCpu(c), serverCpu('nats-server')];
    await c.end();
    await sys.stop();
    const us = (s: number) => Math.round((s * 1e6) / JOBS);
    console.log(
      JSON.stringify({
        node: us(n1 - n0),
        pg: us(p1 - p0),
        nats: us(s1 - s0),
        total: us(n1 - n0 + p1 - p0 + s1 - s0),
        rate: Math.round(rate),
      }),
    );
  } finally {
    await db.drop();
  }
}

if (args.child) await child(args.child, args.only);
else {
  const dirs: Record<string, string> = { this: process.cwd(), ...(args.base ? { base: resolve(args.base) } : {}) };
  const got: Record<string, Record<string, number>[]> = {};
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const system of args.only.split(',')) {
      const order = Object.keys(dirs);
      if (round % 2 === 0) order.reverse();
      for (const which of system === 'graphile' ? ['this'] : order) {
        const out = execFileSync('npx', ['tsx', 'bench/bulk-cpu.ts', '--child', dirs[which]!, '--jobs', String(JOBS), '--only', system], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const r = JSON.parse(out.trim().split('\n').at(-1)!);
        (got[`${which} ${system}`] ??= []).push(r);
        console.error(`round ${round} ${which} ${system}: ${JSON.stringify(r)}`);
      }
    }
  }
  const g = got['this graphile'];
  const gm = (k: string) => (g ? median(g.map((r) => r[k]!)) : NaN);
  for (const [key, rs] of Object.entries(got)) {
    const m = (k: string) => median(rs.map((r) => r[k]!));
    const cpu = `node ${m('node')} + pg ${m('pg')} + nats ${m('nats')} = ${m('total')} µs/job`;
    console.log(
      `${key.padEnd(16)} ${cpu} (graphile/this ${(gm('total') / m('total')).toFixed(2)}); ` +
        `${m('rate')} jobs/s (this/graphile ${(m('rate') / gm('rate')).toFixed(2)})`,
    );
  }
}
