import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface NatsServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * `nats-server -js` on a free port (`-p -1`: the server picks it and logs it) with a store in a temp
 * dir; resolves once it says it is ready. `stop()` ends it and removes the store.
 */
export async function startNatsServer(bin: string): Promise<NatsServer> {
  const storeDir = await mkdtemp(path.join(tmpdir(), 'lro-test-nats-'));
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', storeDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(child, 'exit');
  const log: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let port: string | undefined;
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      log.push(line);
      port ??= line.match(/Listening for client connections on [\d.]+:(\d+)/)?.[1];
      if (port && /Server is ready/.test(line)) resolve(`nats://127.0.0.1:${port}`);
    });
    child.on('error', reject);
    void exited.then(([code]) => reject(new Error(`${bin} exited (${code}) before it was ready:\n${log.slice(-10).join('\n')}`)));
  });
  child.stderr!.resume(); // keep draining its log
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
