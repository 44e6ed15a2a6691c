import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { createTestDatabase } from './helpers/db.js';
import { hubOp, openTestLro } from './helpers/lro.js';

// The embedded default, as a new user meets it: no DATABASE_URL, an LRO_DATA_DIR of this file's own.
const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const BIN = path.join(ROOT, 'bin/lro.js');
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lro-start-signals-'));
await chmod(dataDir, 0o755); // as root the server runs as the postgres user, who must reach its data
const env = (extra: Record<string, string> = {}) => {
  const e: Record<string, string | undefined> = { ...process.env, LRO_DATA_DIR: dataDir, LRO_CONCURRENCY: '3', ...extra };
  if (!extra.DATABASE_URL) delete e.DATABASE_URL;
  return e as NodeJS.ProcessEnv;
};
/** Every test here starts lro processes (node, often a Postgres): seconds each on a loaded 2-core machine. */
const SLOW = 150_000;
const serverRunning = () => existsSync(path.join(dataDir, 'pg', 'postmaster.pid'));

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) if (child.pid) process.kill(-child.pid, 'SIGKILL');
  children.clear();
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** `cmd args` as the leader of its own process group (as a shell runs it), its output by lines. */
function spawnGroup(cmd: string, args: string[], extraEnv: Record<string, string> = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, env: env(extraEnv), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  const waiting = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (l) => {
      lines.push(l);
      for (const check of waiting) check();
    });
  }
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  /** The first line matching `pattern`, from all output so far and to come. */
  const line = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = lines.find((l) => pattern.test(l));
        if (found) {
          waiting.delete(check);
          resolve(found);
        }
      };
      waiting.add(check);
      check();
      void exited.then((code) => reject(new Error(`exited (${code}) before printing ${pattern}:\n${lines.join('\n')}`)));
    });
  return { child, lines, line, exited };
}

describe('Ctrl-C on lro start with the embedded database', () => {
  it(
    'lets the running ops finish, says so last, and only then stops the database',
    async () => {
      // What `npm start` runs (npm itself then exits 130 on any SIGINT, by its own convention).
      const start = spawnGroup(process.execPath, [BIN, 'start', '--port', '0']);
      const url = (await start.line(/^database: postgres:\/\//)).match(/postgres:\/\/\S+/)![0];
      // Mid-flight: a demo op has done some steps and has more to do.
      await start.line(/ running +\[#+-+\] +\d+% /);
      const t0 = Date.now();
      process.kill(-start.child.pid!, 'SIGINT'); // what a terminal does: the whole foreground group
      expect(await start.exited).toBe(0);
      const elapsed = Date.now() - t0;
      const draining = start.lines.find((l) => /^SIGINT: finishing \d+ running ops? before stopping/.test(l))!;
      expect(Number(draining.match(/finishing (\d+)/)![1])).toBeGreaterThan(0);
      expect(start.lines.at(-1)).toMatch(/^stopped: \d+ running ops? finished or gave their leases back; nothing was left running$/);
      expect(start.lines.filter((l) => /again: aborting/.test(l))).toEqual([]); // a relayed copy of the signal (npm's) is the same Ctrl-C
      expect(elapsed).toBeLessThan(15_000); // the demo ops' remaining steps, not the 30 s lease
      expect(serverRunning()).toBe(false);

      // The same data directory, started again: every op ended in its first attempt, none was rescued.
      const db = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'pg') });
      expect(db.url).toMatch(/^postgres:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres$/);
      expect(url).toMatch(/^postgres:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres$/);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query(
        `SELECT status, attempt, last_error->>'code' AS last_error FROM long_running_operations ORDER BY created_at`,
      );
      await client.end();
      await db.stop();
      expect(rows).toEqual([
        { status: 'succeeded', attempt: 1, last_error: null },
        { status: 'succeeded', attempt: 1, last_error: null },
        { status: 'failed', attempt: 1, last_error: 'demo_failure' },
        { status: 'succeeded', attempt: 1, last_error: null }, // the demo project's backup
      ]);
    },
    SLOW,
  );

  it(
    'a Ctrl-C while it is still starting stops everything it started, the database last',
    async () => {
      const start = spawnGroup(process.execPath, [BIN, 'start', '--port', '0']);
      await start.line(/^database: postgres:\/\//);
      process.kill(-start.child.pid!, 'SIGINT'); // while it migrates and starts the hub
      expect(await start.exited).toBe(0);
      expect(start.lines.at(-1)).toMatch(/^stopped: /);
      expect(start.lines.filter((l) => l.startsWith('creating'))).toEqual([]); // no demo ops once stopping
      expect(serverRunning()).toBe(false);
    },
    SLOW,
  );

  it(
    'other lro commands use the running embedded database, or start it themselves and stop it',
    async () => {
      // Nothing running: migrate starts the embedded server, says where, and stops it again.
      const migrated = await run(process.execPath, [BIN, 'migrate'], { cwd: ROOT, env: env() });
      expect(migrated.stderr).toMatch(
        /^database: postgres:\/\/\S+ +\(embedded Postgres, data in .*other shells: export DATABASE_URL=postgres:\/\//m,
      );
      expect(migrated.stdout).toMatch(/up to date|applied/);
      expect(serverRunning()).toBe(false);

      const hub = spawnGroup(process.execPath, [BIN, 'hub', '--port', '0']);
      const hubDb = (await hub.line(/^database: /)).match(/postgres:\/\/\S+/)![0];
      await hub.line(/Server listening at/);
      const admin = await run(process.execPath, [BIN, 'admin', 'account-create', 'shared'], { cwd: ROOT, env: env() });
      expect(admin.stderr).toContain(`database: ${hubDb}  (the embedded Postgres already running on`);
      const account = JSON.parse(admin.stdout);
      const client = new pg.Client({ connectionString: hubDb });
      await client.connect();
      const { rows } = await client.query('SELECT name FROM accounts WHERE account_id = $1', [account.account_id]);
      await client.end();
      expect(rows).toEqual([{ name: 'shared' }]);
      expect(serverRunning()).toBe(true); // admin leaves the hub's database running

      process.kill(-hub.child.pid!, 'SIGINT');
      expect(await hub.exited).toBe(0);
      expect(hub.lines.at(-1)).toMatch(/^stopped: 0 running ops finished/);
      expect(serverRunning()).toBe(false);

      // A server whose lro process died (kill -9, say) is taken over by the next command, which stops it.
      const orphan = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'pg') });
      const gone = spawn(process.execPath, ['-e', '']);
      await new Promise((resolve) => gone.on('exit', resolve));
      await writeFile(path.join(dataDir, 'pg', 'lro.owner'), `${gone.pid}\n`);
      const adopted = await run(process.execPath, [BIN, 'migrate'], { cwd: ROOT, env: env() });
      expect(adopted.stderr).toContain(`database: ${orphan.url}  (embedded Postgres`);
      expect(serverRunning()).toBe(false);
      await orphan.stop();
    },
    SLOW,
  );
});

describe('a closed terminal or a broken pipe', () => {
  it(
    'SIGHUP with its output pipe gone (| tee, | head) still drains: no EPIPE crash, the database stopped last',
    async () => {
      const start = spawnGroup(process.execPath, [BIN, 'start', '--port', '0']);
      await start.line(/ running +\[#+-+\] +\d+% /);
      start.child.stdout!.destroy(); // the reader of the bars has gone: every later draw is an EPIPE
      process.kill(-start.child.pid!, 'SIGHUP'); // a closed terminal, a dropped ssh session
      expect(await start.exited).toBe(0);
      expect(start.lines.find((l) => /EPIPE/.test(l))).toBeUndefined();
      expect(start.lines.at(-1)).toMatch(/^stopped: \d+ running ops? finished or gave their leases back; nothing was left running$/);
      expect(serverRunning()).toBe(false);
    },
    SLOW,
  );

  it(
    'a hub whose database went away first still exits, at LRO_STOP_TIMEOUT_S, saying why',
    async () => {
      const { startTcpProxy } = await import('./helpers/tcp-proxy.js');
      const url = new URL(await createTestDatabase());
      const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
      afterAll(() => proxy.close());
      const viaProxy = new URL(url);
      viaProxy.port = String(proxy.port);
      const hub = spawnGroup(process.execPath, [BIN, 'hub', '--port', '0'], { DATABASE_URL: viaProxy.toString(), LRO_STOP_TIMEOUT_S: '3' });
      await hub.line(/Server listening at/);
      proxy.blackhole(); // the database is gone without a word: every write hangs
      const t0 = Date.now();
      process.kill(-hub.child.pid!, 'SIGTERM');
      expect(await hub.exited).toBe(1);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(hub.lines.at(-1)).toMatch(/^stopping took over 3 s \(is the database gone\?\): exiting now/);
    },
    SLOW,
  );
});

describe('a second signal', () => {
  it(
    'aborts what still runs and gives the leases back, without counting the attempt',
    async () => {
      const url = await createTestDatabase();
      const worker = spawnGroup(process.execPath, [BIN, 'worker', '--routing', 'hub'], { DATABASE_URL: url });
      await worker.line(/^lro worker: 1 pool\(s\) serving hub$/);
      const { lro } = await openTestLro({ connectionString: url });
      const { op } = await lro.store.create(hubOp('demo', { hang: true, steps: 3 }));
      const status = async () => {
        const { status: s, attempt } = await lro.store.get(op.op_id);
        return { status: s, attempt };
      };
      for (const deadline = Date.now() + 30_000; (await status()).status !== 'running';) {
        if (Date.now() > deadline) throw new Error('the op was never claimed');
        await new Promise((r) => setTimeout(r, 50)); // polling the row with a deadline
      }
      process.kill(-worker.child.pid!, 'SIGINT');
      await worker.line(/^SIGINT: finishing 1 running op before stopping/);
      const t0 = Date.now();
      process.kill(-worker.child.pid!, 'SIGTERM'); // another signal: not the same Ctrl-C relayed twice
      expect(await worker.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000); // at once, not after the 30 s graceful deadline
      expect(worker.lines).toContain('SIGTERM again: aborting running ops and giving their leases back');
      expect(worker.lines.at(-1)).toMatch(/^stopped: of 1 running op, those still running were aborted and gave their leases back/);
      expect(await status()).toEqual({ status: 'queued', attempt: 0 });
    },
    SLOW,
  );
});

describe('a port that is taken', () => {
  const busy = net.createServer();
  const busyPort = new Promise<number>((resolve) => busy.listen(0, '127.0.0.1', () => resolve((busy.address() as net.AddressInfo).port)));
  afterAll(() => new Promise((resolve) => busy.close(resolve)));
  const hint = (port: number) =>
    `lro: cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE); ` +
    'choose another with --port <n> or PORT (--port 0 picks a free one)';

  it(
    'ends lro start with exit 1, the port and the hint, and stops the embedded database it started',
    async () => {
      const port = await busyPort;
      const err = await run(process.execPath, [BIN, 'start', '--port', String(port)], { cwd: ROOT, env: env(), timeout: 30_000 }).catch(
        (e) => e,
      );
      expect(err.killed).toBe(false);
      expect(err.code).toBe(1);
      expect(err.stderr.trim().split('\n').at(-1)).toBe(hint(port));
      expect(serverRunning()).toBe(false);
    },
    SLOW,
  );

  it(
    'ends lro hub the same way',
    async () => {
      const port = await busyPort;
      const url = await createTestDatabase();
      const err = await run(process.execPath, [BIN, 'hub', '--port', String(port)], {
        cwd: ROOT,
        env: env({ DATABASE_URL: url }),
        timeout: 30_000,
      }).catch((e) => e);
      expect(err.killed).toBe(false);
      expect(err.code).toBe(1);
      expect(err.stderr.trim().split('\n').at(-1)).toBe(hint(port));
    },
    SLOW,
  );
});
