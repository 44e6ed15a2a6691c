import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A free TCP port on loopback. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * A real restic REST backend on loopback: `rclone serve restic` (Debian's rclone) over a temp folder.
 * `url(name)` is a restic repository URL inside it. `stop()` kills it (as a dead network bucket);
 * `start()` brings it back on the same port and folder.
 */
export async function startRestServer() {
  const dir = mkdtempSync(path.join(tmpdir(), 'lro-rest-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const up = async () => {
    const c = spawn('rclone', ['serve', 'restic', '-v', '--addr', `127.0.0.1:${port}`, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    // Ready when it says it serves (rclone logs it once it listens).
    await new Promise<void>((resolve, reject) => {
      let said = '';
      c.stderr!.on('data', (d: Buffer) => {
        said += d.toString();
        if (/Serving restic REST API/.test(said)) resolve();
      });
      c.once('exit', (code) => reject(new Error(`rclone serve restic exited (${code}): ${said.trim()}`)));
    });
  };
  await up();
  return {
    dir,
    url: (name: string) => `rest:http://127.0.0.1:${port}/${name}/`,
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
    start: up,
  };
}
