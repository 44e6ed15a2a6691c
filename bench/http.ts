/**
 * The hub over real HTTP on loopback: create throughput with C concurrent clients, `wait` wake-up
 * latency after completion, and SSE fan-out delivery latency with S clients on one op.
 * Usage: npm run bench:http -- [--clients 50] [--creates 10000] [--waits 200] [--sse 500]
 */
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { buildHub } from '../src/api/app.js';
import { LroClient } from '../src/client/client.js';
import { migrate } from '../src/db/migrate.js';
import { Lro, defaultKinds } from '../src/app/lro.js';
import { freshDatabase, machineContext, percentile } from './lib.js';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    creates: { type: 'string', default: '10000' },
    waits: { type: 'string', default: '200' },
    sse: { type: 'string', default: '500' },
  },
});
const ADMIN = 'bench-admin-token-0123456789';
const finishedAt = new Map<string, number>();
const kinds = defaultKinds().register({
  name: 'quick',
  input: z.object({}),
  result: z.null(),
  async run({ op }) {
    finishedAt.set(op.op_id, performance.now());
    return null;
  },
});

const db = await freshDatabase('http');
await migrate(db.url);
const lro = new Lro({ connectionString: db.url, kinds, poolSize: 30 });
const app = buildHub({ lro, adminToken: ADMIN, logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const admin = new LroClient({ baseUrl: base, token: ADMIN });
const hub = { type: 'hub' as const };

// 1. Creates: C clients (in a process of their own) in a loop until N ops exist (no workers yet, so
// only the API and the insert count).
const N = Number(args.creates),
  C = Number(args.clients);
const load = await promisify(execFile)(process.execPath, [
  '--import',
  'tsx',
  new URL('./http-load.ts', import.meta.url).pathname,
  base,
  ADMIN,
  String(N),
  String(C),
]);
const createRate = JSON.parse(load.stdout).rate as number;
await lro.db.query(`UPDATE long_running_operations SET status = 'canceled', finished_at = now(),
  error = '{"code":"canceled","message":"bench"}' WHERE status = 'queued'`);
console.error(`creates: ${createRate.toFixed(0)}/s`);

// 2. wait: a long poll in flight, then the op completes; from the handler's return to the answer.
await lro.workerPool({ concurrency: 10 }).start();
const wakeups: number[] = [];
for (let i = 0; i < Number(args.waits); i++) {
  const { op } = await admin.create({ kind: 'quick', scope: hub });
  const answered = await admin.wait(op.op_id, 30).then(() => performance.now());
  wakeups.push(answered - finishedAt.get(op.op_id)!);
}
console.error('waits: done');

// 3. SSE: S clients connect to one queued op (routed to a host with no worker yet); once all are
// connected the host's worker starts it; from each progress event's append to its delivery.
const S = Number(args.sse);
const hostId = '00000000-0000-4000-8000-00000000b0b0';
const { op } = await admin.create({ kind: 'demo', scope: hub, input: { phases: ['fan-out'], steps: 40, step_ms: 50, host_id: hostId } });
const delays: number[] = [];
let complete = 0;
let connected = 0;
let allConnected!: () => void;
const ready = new Promise<void>((r) => {
  allConnected = r;
});
const watching = Promise.all(
  Array.from({ length: S }, async () => {
    for await (const e of admin.watch(op.op_id)) {
      if (e.event === 'summary' && e.data.summary.status === 'queued' && ++connected === S) allConnected();
      if (e.event === 'progress') delays.push(Date.now() - Date.parse(e.data.ts));
      if (e.event === 'summary' && e.data.summary.status === 'succeeded') complete++;
    }
  }),
);
await ready;
await lro.workerPool({ routing: [`host:${hostId}`], ownerType: 'host', concurrency: 1 }).start();
await watching;

console.log(`Machine: ${await machineContext()}`);
console.log("Hub and workers in one process; the create load from a second process, the wait and SSE clients in the hub's; loopback.\n");
console.log('| measure | result | goal |');
console.log('|---|---|---|');
console.log(`| creates/s, ${C} concurrent clients, ${N} ops | ${createRate.toFixed(0)} | ≥ 2,000 |`);
console.log(`| wait wake-up after completion, p50 / p99 (${wakeups.length} ops) | ${p50p99(wakeups)} | p50 ≤ 10 ms |`);
const sse = `SSE delivery, ${S} clients on one op, p50 / p99 (${delays.length} deliveries, ${complete}/${S} saw the end)`;
console.log(`| ${sse} | ${p50p99(delays)} | p99 ≤ 100 ms |`);
await app.close();
await lro.close();
await db.drop();

function p50p99(samples: number[]): string {
  return `${percentile(samples, 50).toFixed(1)} ms / ${percentile(samples, 99).toFixed(1)} ms`;
}
