/**
 * Start-up time of the CLI: the median wall time of `lro --help` and `lro ops get <id>`, run
 * alternately N times each, from spawn to exit. `ops get` asks LRO_URL (with LRO_TOKEN) when set,
 * else a stub HTTP server in this process that answers 404 to everything (the CLI's whole path: parse,
 * config, client, request, error, exit). Also times `npx lro --help` (npx's own start-up included).
 *
 *   npx tsx bench/startup.ts [runs=15] [--root <checkout>]   # --root: another checkout (e.g. the base commit)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, percentile } from './lib.js';

const args = process.argv.slice(2);
const rootAt = args.indexOf('--root');
const ROOT = rootAt >= 0 ? path.resolve(args[rootAt + 1]!) : fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--root') ?? 15);
const BIN = path.join(ROOT, 'bin/lro.js');
const OP_ID = '00000000-0000-4000-8000-000000000000';

/** GNU time, when installed: the runs' CPU time too (wall time on a loaded machine is mostly waiting). */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

interface Run {
  ms: number;
  cpuMs: number | null;
  code: number | null;
}

/** Wall time (and CPU time, user + sys) of one run, in ms, from spawn to exit; its output is discarded. */
function timeRun(cmd: string, argv: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = TIME
      ? spawn(TIME, ['-f', 'lro-bench-cpu %U %S', cmd, ...argv], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(cmd, argv, { cwd: ROOT, env, stdio: 'ignore' });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const m = err.match(/lro-bench-cpu ([\d.]+) ([\d.]+)/);
      resolve({ ms: performance.now() - t0, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : null, code });
    });
  });
}

async function main() {
  let stub: ReturnType<typeof createServer> | undefined;
  let url = process.env.LRO_URL;
  if (!url) {
    stub = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: `op ${OP_ID} not found` } }));
    });
    await new Promise<void>((resolve) => stub!.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  }
  const env = { ...process.env, LRO_URL: url, LRO_TOKEN: process.env.LRO_TOKEN ?? 'bench-token' };
  const samples = { help: [] as Run[], get: [] as Run[], npx: [] as Run[], npxAlone: [] as Run[] };
  const cases = [
    ['help', process.execPath, [BIN, '--help']],
    ['get', process.execPath, [BIN, 'ops', 'get', OP_ID]],
  ] as const;
  await timeRun(process.execPath, [BIN, '--help'], env); // warm the file cache once
  for (let i = 0; i < RUNS; i++) {
    for (const [name, cmd, argv] of cases) samples[name].push(await timeRun(cmd, [...argv], env));
  }
  for (let i = 0; i < Math.min(RUNS, 5); i++) {
    samples.npx.push(await timeRun('npx', ['--no-install', 'lro', '--help'], env));
    samples.npxAlone.push(await timeRun('npx', ['--no-install', '-c', 'true'], env)); // npx's own share
  }
  stub?.close();

  const cpu = os.cpus()[0]?.model.trim();
  console.log(`lro start-up, ${ROOT}`);
  console.log(
    `${os.cpus().length} cores (${cpu}), load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, Node ${process.version}; ${RUNS} runs each, alternating`,
  );
  console.log(`ops get against ${stub ? 'a stub answering 404' : url}`);
  const ms = (n: number) => `${n.toFixed(0).padStart(5)} ms`;
  const row = (label: string, runs: Run[]) => {
    const v = runs.map((r) => r.ms);
    const cpu = runs.flatMap((r) => (r.cpuMs === null ? [] : [r.cpuMs]));
    const cpuText = cpu.length ? `   cpu median ${ms(median(cpu))}` : '';
    console.log(`  ${label.padEnd(28)} median ${ms(median(v))}   p90 ${ms(percentile(v, 90))}   min ${ms(Math.min(...v))}${cpuText}`);
  };
  row('node bin/lro.js --help', samples.help);
  row(`node bin/lro.js ops get <id>`, samples.get);
  row('npx lro --help', samples.npx);
  row('npx -c true (npx alone)', samples.npxAlone);
}

await main();
