import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HostStore } from '../../src/domain/hosts.js';
import { ProjectStore } from '../../src/domain/projects.js';
import { accountInsert } from '../../src/domain/sql/accounts.js';
import { openTestLro } from './lro.js';

/**
 * An Lro with backups on (a password file, buckets under a temp folder), an owner account, and
 * hosts with data dirs of their own: project kinds run on real restic and real folders.
 */
export async function openBackupLro() {
  const base = mkdtempSync(path.join(tmpdir(), 'lro-backup-'));
  const passwordFile = path.join(base, 'restic-password');
  writeFileSync(passwordFile, 'test-password\n', { mode: 0o600 });
  const { lro, url } = await openTestLro({ backup: { passwordFile, baseDir: base } });
  const owner = await accountInsert(lro.db, { name: 'owner' });
  const projects = new ProjectStore({ db: lro.db });
  /** A running host (region `local`) with its own data dir, and a pool serving it (started and stopped by the test). */
  async function host(name: string) {
    const hosts = new HostStore({ db: lro.db });
    const h = await hosts.create({ name, region: 'local' });
    await hosts.setStatus(h.host_id, 'running'); // as its liveness would say: project ops refuse a host that is off
    const dataDir = path.join(base, name);
    const pool = lro.workerPool({ routing: [`host:${h.host_id}`], ownerType: 'host', host: { hostId: h.host_id, dataDir } });
    return { ...h, dataDir, pool };
  }
  const newProject = (hostId: string | null, title = 'p') =>
    projects.create({ title, created_by: owner.account_id, host_id: hostId, backup_region: 'local' });
  const projectOp = (kind: string, projectId: string, input: object = {}) => ({
    kind,
    scope: { type: 'project' as const, id: projectId },
    input,
  });
  /** Creates the op and waits for its end. */
  const run = async (kind: string, projectId: string, input: object = {}) =>
    lro.wait((await lro.store.create(projectOp(kind, projectId, input))).op.op_id, 120_000);
  return { lro, url, base, passwordFile, owner, projects, host, newProject, projectOp, run };
}

export const projectDir = (dataDir: string, projectId: string) => path.join(dataDir, 'projects', projectId);

/** Files of many sizes, a nested folder, an executable, a symlink and an old mtime, in both roots. */
export function writeProjectFiles(dir: string, files = 30): void {
  mkdirSync(path.join(dir, 'project', 'src', 'deep'), { recursive: true });
  mkdirSync(path.join(dir, 'persist'), { recursive: true });
  for (let i = 0; i < files; i++)
    writeFileSync(path.join(dir, 'project', 'src', i % 3 ? `f${i}.bin` : `deep/f${i}.bin`), randomBytes(1000 + i * 37));
  writeFileSync(path.join(dir, 'project', 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(path.join(dir, 'project', 'run.sh'), 0o750);
  writeFileSync(path.join(dir, 'persist', 'state.json'), '{"ok":true}');
  utimesSync(path.join(dir, 'persist', 'state.json'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  symlinkSync('src/f1.bin', path.join(dir, 'project', 'link'));
}

/** Every entry under `dir`: its relative path, type, mode, mtime (files and links) and content hash or link target. */
export function treeOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, name);
      const p = path.join(dir, r);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out[r] = `dir ${(st.mode & 0o7777).toString(8)}`;
        visit(r);
      } else if (st.isSymbolicLink()) out[r] = `link -> ${readlinkSync(p)}`;
      else
        out[r] =
          `file ${(st.mode & 0o7777).toString(8)} ${Math.floor(st.mtimeMs)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  visit('');
  return out;
}
