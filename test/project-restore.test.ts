import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HostStore } from '../src/domain/hosts.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openBackupLro, projectDir, treeOf, writeProjectFiles } from './helpers/projects.js';

// Restore and restore-on-missing on real restic and real folders, across two hosts.
const b = await openBackupLro();
const h1 = await b.host('host1');
const h2 = await b.host('host2');
await h1.pool.start();
await h2.pool.start();

const moveTo = (projectId: string, hostId: string) =>
  b.lro.db.query('UPDATE projects SET host_id = $2 WHERE project_id = $1', [projectId, hostId]);

/** A host whose data dir is a tmpfs mounted with `options` while `fn` runs (its pool started). */
async function onTmpfsHost(name: string, options: string, fn: (host: Awaited<ReturnType<typeof b.host>>) => Promise<void>) {
  const h = await b.host(name);
  mkdirSync(h.dataDir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', h.dataDir]);
  await h.pool.start();
  try {
    await fn(h);
  } finally {
    await h.pool.stop();
    execFileSync('umount', [h.dataDir]);
  }
  return h;
}

describe('restore', () => {
  it('back up, lose both roots, start with restore auto on a second host with another data dir: every file comes back', async () => {
    const project = await b.newProject(h1.host_id);
    const dir1 = projectDir(h1.dataDir, project.project_id);
    writeProjectFiles(dir1);
    const before = treeOf(dir1);
    const backup = await b.run('project-backup', project.project_id);
    expect(backup.status).toBe('succeeded');
    rmSync(dir1, { recursive: true });
    await moveTo(project.project_id, h2.host_id);
    const started = await b.run('project-start', project.project_id, { restore: 'auto' });
    expect(started, JSON.stringify(started.error)).toMatchObject({ status: 'succeeded', result: { restored: true } });
    expect((started.result as { snapshot_id: string }).snapshot_id.startsWith((backup.result as { snapshot_id: string }).snapshot_id)).toBe(
      true,
    );
    const dir2 = projectDir(h2.dataDir, project.project_id);
    expect(treeOf(dir2)).toEqual(before); // content hashes, modes, mtimes and symlinks
    expect(existsSync(dir1)).toBe(false);
    expect(readFileSync(path.join(dir2, 'project', 'link'), 'utf8')).toBe(
      readFileSync(path.join(dir2, 'project', 'src', 'f1.bin'), 'utf8'),
    );
  });

  it('restores one path into a folder of the project, leaving the rest as it is; progress is bytes written against the size', async () => {
    const project = await b.newProject(h1.host_id);
    const dir = projectDir(h1.dataDir, project.project_id);
    writeProjectFiles(dir);
    const snapshot = (await b.run('project-backup', project.project_id)).result as { snapshot_id: string };
    writeFileSync(path.join(dir, 'project', 'src', 'f1.bin'), 'changed since');
    const { op } = await b.lro.store.create(
      b.projectOp('project-restore', project.project_id, { path: 'project/src', target: 'project/restored' }),
    );
    const done = await b.lro.wait(op.op_id, 60_000);
    expect(done).toMatchObject({ status: 'succeeded', result: { files: 30 } });
    expect((done.result as { snapshot_id: string }).snapshot_id.startsWith(snapshot.snapshot_id)).toBe(true);
    expect(readFileSync(path.join(dir, 'project', 'src', 'f1.bin'), 'utf8')).toBe('changed since'); // in place: untouched
    expect(treeOf(path.join(dir, 'project', 'restored', 'src'))['f1.bin']).toMatch(/^file /);
    expect(readFileSync(path.join(dir, 'project', 'restored', 'src', 'f1.bin')).length).toBe(1037);
    const { events } = await b.lro.streams.backend.history(
      { storage: `persist.project-${project.project_id}`, name: `lro.${op.op_id}` },
      1,
      1000,
    );
    const last = events.filter((e) => e.type === 'progress' && e.phase === 'restore' && e.progress !== undefined).at(-1);
    expect(last).toMatchObject({ progress: { unit: 'bytes' } });
    const p = (last as { progress: { current: number; total: number } }).progress;
    expect(p.current).toBe(p.total);
    // A target that leads out of the project through a symbolic link is refused; nothing lands outside.
    const outside = mkdtempSync(path.join(tmpdir(), 'lro-outside-'));
    symlinkSync(outside, path.join(dir, 'project', 'away'));
    const refused = await b.run('project-restore', project.project_id, { path: 'project/src', target: 'project/away' });
    expect(refused).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'outside_project' } });
    expect(readdirSync(outside)).toEqual([]);
    // In place, the path comes back as it was in the snapshot.
    expect(await b.run('project-restore', project.project_id, { path: 'project/src/f1.bin' })).toMatchObject({ status: 'succeeded' });
    expect(readFileSync(path.join(dir, 'project', 'src', 'f1.bin')).length).toBe(1037);
  });

  it('a disk that fills during a restore: the op fails no_space at once, the project is as it was, the staging gone', async () => {
    const project = await b.newProject(h1.host_id);
    const dir1 = projectDir(h1.dataDir, project.project_id);
    writeProjectFiles(dir1);
    writeFileSync(path.join(dir1, 'project', 'big.bin'), randomBytes(3 * 1024 * 1024));
    expect(await b.run('project-backup', project.project_id)).toMatchObject({ status: 'succeeded' });
    // Host 3's data dir is a 1 MiB tmpfs holding the project's current (small) files.
    await onTmpfsHost('host3-small-disk', 'size=1m', async (h3) => {
      const dir3 = projectDir(h3.dataDir, project.project_id);
      mkdirSync(path.join(dir3, 'project'), { recursive: true });
      mkdirSync(path.join(dir3, 'persist'), { recursive: true });
      writeFileSync(path.join(dir3, 'project', 'mine.txt'), 'work not in the backup');
      const before = treeOf(dir3);
      await moveTo(project.project_id, h3.host_id);
      const failed = await b.run('project-restore', project.project_id);
      expect(failed).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'no_space' } });
      expect(treeOf(dir3)).toEqual(before); // nothing lost, no staging folder left behind
    });
  });

  it('a data dir that is not writable fails at once, naming it; a host that is off takes no op', async () => {
    const project = await b.newProject(h1.host_id);
    writeProjectFiles(projectDir(h1.dataDir, project.project_id), 3);
    expect(await b.run('project-backup', project.project_id)).toMatchObject({ status: 'succeeded' });
    // Host 4's data dir is mounted read-only (root writes through any mode bits, not through this).
    const h4 = await onTmpfsHost('host4-read-only', 'ro,size=1m', async (h4) => {
      await moveTo(project.project_id, h4.host_id);
      const failed = await b.run('project-start', project.project_id);
      expect(failed).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'not_writable' } });
      expect((failed.error as { message: string }).message).toContain(h4.dataDir);
    });
    // The host goes off: a project op is refused when asked for, not queued to wait unseen.
    await new HostStore({ db: b.lro.db }).setStatus(h4.host_id, 'off');
    const count = async () => (await b.lro.db.query('SELECT count(*)::int AS n FROM long_running_operations')).rows[0].n;
    const before = await count();
    await expect(b.lro.store.create(b.projectOp('project-backup', project.project_id))).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(new RegExp(`is on host ${h4.host_id}, which is off: start that host`)),
      details: { reason: 'host_off', host_id: h4.host_id },
    });
    expect(await count()).toBe(before);
  });

  it('clear failures that lose nothing: bad paths refused at create, an unknown snapshot, no backup recorded vs one recorded', async () => {
    const project = await b.newProject(h1.host_id);
    for (const bad of [{ path: '../etc' }, { path: '/etc' }, { target: 'a/../../b' }, { snapshot_id: 'zz' }, { extra: 1 }]) {
      await expect(b.lro.store.create(b.projectOp('project-restore', project.project_id, bad))).rejects.toMatchObject({
        code: 'invalid_input',
      });
    }
    // No backup, no data: auto starts empty.
    expect(await b.run('project-start', project.project_id)).toMatchObject({ status: 'succeeded', result: { restored: false } });
    const dir = projectDir(h1.dataDir, project.project_id);
    expect(treeOf(dir)).toEqual({ persist: 'dir 755', project: 'dir 755' });
    writeProjectFiles(dir, 3);
    expect(await b.run('project-backup', project.project_id)).toMatchObject({ status: 'succeeded' });
    expect(await b.run('project-restore', project.project_id, { snapshot_id: 'deadbeef' })).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: { code: 'snapshot_not_found' },
    });
    // A backup is recorded, the bucket has none (another bucket now): the project never starts empty.
    await b.lro.db.query(`UPDATE backup_regions SET repository = 'file:.data/buckets/elsewhere' WHERE region = 'local'`);
    onTestFinished(
      async () => void (await b.lro.db.query(`UPDATE backup_regions SET repository = 'file:.data/buckets/local' WHERE region = 'local'`)),
    );
    rmSync(dir, { recursive: true });
    expect(await b.run('project-start', project.project_id)).toMatchObject({ status: 'failed', error: { code: 'backup_missing' } });
    expect(existsSync(dir)).toBe(false);
  });
});
