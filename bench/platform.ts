/**
 * A hub and hosts in one process for the project benches: an Lro with backups on (a password file,
 * buckets under a temp folder) on a fresh database, a hub pool, running hosts with data dirs of their
 * own, an owner for projects, and files to fill them.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Lro } from '../src/app/lro.js';
import { migrate } from '../src/db/migrate.js';
import { HostStore } from '../src/domain/hosts.js';
import { ProjectStore } from '../src/domain/projects.js';
import { accountInsert } from '../src/domain/sql/accounts.js';
import { silentLogger } from '../src/lro/log.js';
import type { Operation } from '../src/shared/operation.js';
import { freshDatabase } from './lib.js';

export async function openPlatform(tag: string, dir: string) {
  const base = mkdtempSync(path.join(dir, `lro-bench-${tag}-`));
  const passwordFile = path.join(base, 'password');
  writeFileSync(passwordFile, 'bench\n', { mode: 0o600 });
  const db = await freshDatabase(tag);
  await migrate(db.url);
  const lro = await Lro.open({ connectionString: db.url, log: silentLogger, backup: { passwordFile, baseDir: base } });
  await lro.workerPool({ routing: ['hub'], ownerType: 'hub' }).start();
  const owner = await accountInsert(lro.db, { name: 'bench' });
  const hosts = new HostStore({ db: lro.db });
  const projects = new ProjectStore({ db: lro.db });
  return {
    lro,
    base,
    bucketDir: path.join(base, '.data/buckets/local'),
    /** A running host with a started pool and a data dir of its own. */
    async host(name: string) {
      const h = await hosts.create({ name, region: 'local' });
      await hosts.setStatus(h.host_id, 'running');
      const dataDir = path.join(base, name);
      await lro.workerPool({ routing: [`host:${h.host_id}`], ownerType: 'host', host: { hostId: h.host_id, dataDir } }).start();
      return { ...h, dataDir };
    },
    async project(hostId: string, title = 'p') {
      return projects.create({ title, created_by: owner.account_id, host_id: hostId, backup_region: 'local' });
    },
    /** Runs an op to its end; throws unless it succeeded. */
    async run(kind: string, scope: { type: 'project' | 'hub' | 'host'; id: string }, input: object = {}): Promise<Operation> {
      const { op } = await lro.store.create({ kind, scope, input });
      const done = await lro.wait(op.op_id, 3_600_000);
      if (done.status !== 'succeeded') throw new Error(`${kind} ${done.status}: ${done.error?.message}`);
      return done;
    },
    async close() {
      await lro.close({ gracefulMs: 0 });
      await db.drop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** `mib` MiB of random files under `dir`: `fileKib` KiB each, 200 to a folder. Returns the file count. */
export function fillFolder(dir: string, mib: number, fileKib: number): number {
  const files = Math.max(1, Math.floor((mib * 1024) / fileKib));
  for (let i = 0; i < files; i++) {
    const d = path.join(dir, `d${Math.floor(i / 200)}`);
    if (i % 200 === 0) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, `f${i}.bin`), randomBytes(fileKib * 1024));
  }
  return files;
}
