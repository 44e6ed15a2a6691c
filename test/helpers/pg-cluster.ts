import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A PostgreSQL server of the test's own, which the test may stop and start again. */
export interface PgCluster {
  /** Connection string of its migrated `postgres` database. */
  url: string;
  port: number;
  /** `pg_ctl stop`: `fast` ends every session and checkpoints; `immediate` is a crash (recovery at the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

/**
 * initdb with Debian's binaries in a temp dir, started on a free loopback port and migrated. Never the
 * machine's shared server: tests that stop Postgres stop only this one. As root, the binaries run as
 * the `postgres` user (initdb refuses root) in a directory that user owns.
 */
export async function startPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lro-pgc-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout));
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(BIN, tool), ...args]) : run(path.join(BIN, tool), args);
  const data = path.join(dir, 'data');
  const port = await freePort();
  await pg('initdb', ['-D', data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  // fsync off: a clean or immediate stop (no OS crash) loses nothing, and the shared machine is spared the flushes.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = async () => {
    await pg('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', path.join(dir, 'log'), '-o', options]);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pg('pg_ctl', ['stop', '-w', '-t', '30', '-D', data, '-m', mode]);
  };
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await migrate(url);
  let destroyed = false;
  return {
    url,
    port,
    stop,
    start,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
