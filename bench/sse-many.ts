/**
 * Many ops at once through the hub: N running ops each publishing R progress events/s for D seconds,
 * one SSE subscriber each (in a second process, as browsers would be), per adapter. Prints whether
 * every event reached its subscriber, send → delivery latency p50/p99, and CPU per 1,000 events
 * delivered (the hub's process, and the server: Postgres or nats-server).
 * Usage: npm run bench:sse-many -- [--ops 1000] [--rate 10] [--seconds 20] [--only pg,nats]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { buildHub } from '../src/api/app.js';
import { Lro, defaultKinds } from '../src/app/lro.js';
import { migrate } from '../src/db/migrate.js';
import type { KindDefinition } from '../src/lro/kinds.js';
import { silentLogger } from '../src/lro/log.js';
import { freshDatabase, machineContext, mdRow, percentile, serverCpu } from './lib.js';

const { values: args } = parseArgs({
  options: {
    ops: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '20' },
    only: { type: 'string' },
  },
});
const OPS = Number(args.ops),
  RATE = Number(args.rate),
  SECONDS = Number(args.seconds);
const ADMIN = 'bench-admin-token-0123456789';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** Publishes R events/s for D seconds, each carrying its send time. */
const tickerKind: KindDefinition<Record<string, never>, { sent: number }> = {
  name: 'ticker',
  input: z.object({}),
  result: z.object({ sent: z.number() }),
  async run({ progress, signal }) {
    const total = RATE * SECONDS;
    for (let i = 1; i <= total && !signal.aborted; i++) {
      await new Promise((r) => setTimeout(r, 1000 / RATE));
      progress({ phase: 'tick', progress: { current: i, total }, detail: { t: Date.now() } });
    }
    return { sent: total };
  },
};

async function run(adapter: 'pg' | 'nats') {
  const db = await freshDatabase(`sse_many_${adapter}`);
  await migrate(db.url);
  const lro = await Lro.open({
    connectionString: db.url,
    kinds: defaultKinds().register(tickerKind),
    streamsSpec: adapter === 'pg' ? 'pg' : natsUrl,
    poolSize: 20,
    log: silentLogger,
  });
  const app = buildHub({ lro, adminToken: ADMIN });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const ids = await lro.store.createMany(Array.from({ length: OPS }, () => ({ kind: 'ticker', scope: { type: 'hub' } })));
  const idsFile = path.join(tmpdir(), `lro-sse-many-${process.pid}.txt`);
  writeFileSync(idsFile, ids.join('\n'));
  // The subscribers connect while the ops are queued (no worker yet), then the pool starts them all.
  const clients = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./sse-many-clients.ts', import.meta.url).pathname, base, ADMIN, idsFile],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: clients.stdout! })[Symbol.asyncIterator]();
  if ((await lines.next()).value !== 'connected') throw new Error('the subscribers did not connect');
  const cpu0 = process.cpuUsage(),
    server = adapter === 'pg' ? 'postgres' : 'nats-server',
    srv0 = serverCpu(server);
  const pool = lro.workerPool({ concurrency: OPS });
  await pool.start();
  const result = JSON.parse((await lines.next()).value as string) as { delivered: Record<string, number>; latencies: number[] };
  const cpu = process.cpuUsage(cpu0),
    srv = serverCpu(server) - srv0;
  await pool.stop();
  await app.close();
  await lro.close();
  await db.drop();
  const expected = OPS * RATE * SECONDS;
  const delivered = Object.values(result.delivered).reduce((a, b) => a + b, 0);
  return {
    adapter,
    expected,
    delivered,
    all: Object.values(result.delivered).every((n) => n === RATE * SECONDS),
    p50: percentile(result.latencies, 50),
    p99: percentile(result.latencies, 99),
    nodePer1k: ((cpu.user + cpu.system) / 1000 / delivered) * 1000,
    serverPer1k: ((srv * 1000) / delivered) * 1000,
  };
}

const results = [];
for (const adapter of (args.only?.split(',') ?? ['pg', 'nats']) as ('pg' | 'nats')[]) {
  results.push(await run(adapter));
  console.error(`${adapter}: done`);
}
console.log(`Machine: ${await machineContext()}`);
console.log(`${OPS} ops at once, each publishing ${RATE} events/s for ${SECONDS} s; one SSE subscriber each, in a second process.\n`);
console.log(
  mdRow([
    'adapter',
    'events sent',
    'delivered',
    'every event to its subscriber',
    'latency p50',
    'p99',
    'CPU ms / 1,000 events (hub + server)',
  ]),
);
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  const cpu = `${r.nodePer1k.toFixed(1)} + ${r.serverPer1k.toFixed(1)}`;
  console.log(mdRow([r.adapter, r.expected, r.delivered, r.all ? 'yes' : 'no', `${r.p50.toFixed(0)} ms`, `${r.p99.toFixed(0)} ms`, cpu]));
}
