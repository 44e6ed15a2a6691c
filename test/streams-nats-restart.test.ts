import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.js';
import { ProgressStreams, type StreamItem } from '../src/lro/streams/index.js';
import { NatsStreamBackend } from '../src/lro/streams/nats.js';
import { natsServerBin } from './helpers/binaries.js';
import { newStream, progress } from './helpers/streams-contract.js';

// A NATS server of this file's own (NATS_SERVER_BIN, or nats-server on the PATH), so stopping it disturbs no one.
const port = await freePort();
const storeDir = await mkdtemp(path.join(tmpdir(), 'lro-nats-'));
let server: ChildProcess;

async function startServer() {
  const bin = natsServerBin();
  let failed: Error | undefined;
  server = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
  server.on('error', (err) => {
    failed = err;
  });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    if (failed) throw new Error(`cannot run ${bin} (set NATS_SERVER_BIN): ${failed.message}`);
    await new Promise((r) => setTimeout(r, 50)); // polling a port with a bound, not a sleep for an event
  }
  throw new Error('nats-server did not start');
}

async function stopServer() {
  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  await exited;
}

await startServer();
afterAll(async () => {
  if (server.exitCode === null) await stopServer();
  await rm(storeDir, { recursive: true, force: true });
});

describe('NATS restart during a stream', () => {
  it('publishers and readers resume: no duplicate and no gap', async () => {
    const streams = new ProgressStreams(await NatsStreamBackend.connect(`nats://127.0.0.1:${port}`));
    const addr = newStream();
    const total = 400;
    const ac = new AbortController();
    const received: StreamItem[] = [];
    const progressed = new Map<number, () => void>();
    const reading = (async () => {
      for await (const item of streams.read(addr, { signal: ac.signal })) {
        received.push(item);
        if ('seq' in item) progressed.get(item.seq)?.();
        if ('seq' in item && item.seq >= total) break;
      }
    })();
    const reached = (n: number) => new Promise<void>((r) => progressed.set(n, r));

    const publishing = (async () => {
      for (let i = 1; i <= total; i++) await streams.publish(addr, [progress(i)]);
    })();
    await reached(100);
    await stopServer();
    await startServer();
    await publishing;
    await Promise.race([
      reading,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`reader stuck after ${received.length} items`)), 20_000)),
    ]);
    ac.abort();

    const seqs = received.map((i) => ('seq' in i ? i.seq : `gap ${i.from_seq}-${i.to_seq}`));
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const stored = await streams.backend.history(addr, 1, 10_000);
    expect(stored.events.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await streams.close();
  });
});
