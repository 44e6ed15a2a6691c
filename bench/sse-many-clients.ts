/**
 * The browsers of bench/sse-many.ts, run as a process of their own so that their CPU is not the hub's:
 * one SSE subscriber per op id (argv: base, token, then a file of op ids, one a line). Prints `connected`
 * once every subscriber has its op's first summary, then, when every op has ended, one JSON line: per
 * op the progress events delivered, and the latencies (ms, handler's send → delivery here).
 */
import { readFileSync } from 'node:fs';
import { LroClient } from '../src/client/client.js';

const [base, token, idsFile] = process.argv.slice(2) as [string, string, string];
const ids = readFileSync(idsFile, 'utf8').split('\n').filter(Boolean);
const client = new LroClient({ baseUrl: base, token });
const latencies: number[] = [];
const delivered: Record<string, number> = {};
let connected = 0;
await Promise.all(
  ids.map(async (id) => {
    let first = true;
    delivered[id] = 0;
    for await (const e of client.watch(id)) {
      if (first && e.event === 'summary' && ++connected === ids.length) console.log('connected');
      first = false;
      if (e.event !== 'progress') continue;
      delivered[id]!++;
      latencies.push(Date.now() - (e.data.detail as { t: number }).t);
    }
  }),
);
console.log(JSON.stringify({ delivered, latencies }));
