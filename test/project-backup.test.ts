import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FreshnessWatch } from '../src/backup/freshness.js';
import { Restic } from '../src/backup/restic.js';
import { streamOf } from '../src/lro/streams/types.js';
import { openBackupLro, projectDir } from './helpers/projects.js';

// project-backup end to end: a host pool with a data dir, real restic, the region's bucket a local
// folder resolved against the hub's directory, the password from a file.
const b = await openBackupLro();
const { lro, projects, passwordFile, base } = b;
const host = await b.host('host1');
const dataDir = host.dataDir;

async function projectWithFiles(files: number) {
  const project = await b.newProject(host.host_id);
  const dir = projectDir(dataDir, project.project_id);
  mkdirSync(path.join(dir, 'project', 'src'), { recursive: true });
  mkdirSync(path.join(dir, 'persist'), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(path.join(dir, 'project', 'src', `f${i}.bin`), randomBytes(10_000 + i));
  writeFileSync(path.join(dir, 'persist', 'state.json'), '{"ok":true}');
  symlinkSync('src/f0.bin', path.join(dir, 'project', 'link'));
  return { project, dir };
}

const projectOp = (projectId: string) => b.projectOp('project-backup', projectId);

describe('project-backup', () => {
  it("backs up both roots to the region's bucket with progress, records the snapshot and last_backup", async () => {
    const pool = host.pool;
    await pool.start();
    try {
      const { project } = await projectWithFiles(30);
      const { op } = await lro.store.create(projectOp(project.project_id));
      expect(op.routing).toBe(`host:${host.host_id}`);
      const done = await lro.wait(op.op_id, 60_000);
      expect(done).toMatchObject({ status: 'succeeded', result: { files: 31, snapshot_id: expect.stringMatching(/^[0-9a-f]{8}/) } });
      const result = done.result as { bytes_added: number; snapshot_id: string };
      expect(result.bytes_added).toBeGreaterThan(30 * 10_000);
      const after = await projects.get(project.project_id);
      expect(after.last_backup!.getTime()).toBeLessThanOrEqual(done.started_at!.getTime() + 1000);
      expect(after.backup_state).toBe('fresh');
      expect(await projects.backups(project.project_id)).toMatchObject([
        { snapshot_id: result.snapshot_id, region: 'local', op_id: op.op_id },
      ]);
      const { events } = await lro.streams.backend.history(streamOf(op), 1, 1000);
      const bars = events.filter((e) => e.type === 'progress' && e.phase === 'backup' && e.progress !== undefined);
      const last = (bars.at(-1) as { progress: { current: number; total: number; unit: string } }).progress;
      expect(last).toMatchObject({ unit: 'bytes', total: expect.any(Number) });
      expect(last.current).toBe(last.total); // the bar ends full, whatever restic's last status line said
      // The snapshot in the bucket carries the project and the layout.
      const bucket = { repository: path.join(base, '.data/buckets/local'), passwordFile };
      const [snap] = JSON.parse(await new Restic().run(bucket, ['snapshots', '--json', result.snapshot_id]));
      expect(snap.tags).toEqual([`project=${project.project_id}`, 'layout=v2']);
      // Unchanged data a second time: almost nothing added, and the result says so.
      const again = await lro.wait((await lro.store.create(projectOp(project.project_id))).op.op_id, 60_000);
      expect(again).toMatchObject({ status: 'succeeded', result: { files: 31 } });
      expect((again.result as { bytes_added: number }).bytes_added).toBeLessThan(result.bytes_added / 10);
    } finally {
      await pool.stop();
    }
  });

  it('freshness: a file written straight into a root makes the project stale; the next backup makes it fresh', async () => {
    await host.pool.start();
    try {
      const { project, dir } = await projectWithFiles(3);
      expect((await projects.get(project.project_id)).backup_state).toBe('none');
      expect(await b.run('project-backup', project.project_id)).toMatchObject({ status: 'succeeded' });
      expect((await projects.get(project.project_id)).backup_state).toBe('fresh');
      // Written by something that is not lro (an editor, a terminal in the project): the host notices
      // when it looks, before a stop or a backup.
      writeFileSync(path.join(dir, 'project', 'notes.txt'), 'new work');
      const stopped = await b.run('project-stop', project.project_id);
      expect(stopped).toMatchObject({ status: 'succeeded' });
      const stale = await projects.get(project.project_id);
      expect(stale.backup_state).toBe('stale');
      expect(stale.last_edited!.getTime()).toBeGreaterThan(stale.last_backup!.getTime());
      expect(new Date((stopped.result as { last_edited: string }).last_edited).getTime()).toBe(stale.last_edited!.getTime());
      expect(await b.run('project-backup', project.project_id)).toMatchObject({ status: 'succeeded' });
      expect((await projects.get(project.project_id)).backup_state).toBe('fresh');
    } finally {
      await host.pool.stop();
    }
  });

  it("freshness while it runs: the host's watch sees a file written into a running project's root", async () => {
    await host.pool.start();
    try {
      const { project, dir } = await projectWithFiles(3);
      expect(await b.run('project-start', project.project_id)).toMatchObject({ status: 'succeeded' });
      expect(await b.run('project-backup', project.project_id)).toMatchObject({ status: 'succeeded' });
      const watch = new FreshnessWatch({ db: lro.db, host: { hostId: host.host_id, dataDir }, log: lro.log });
      expect(await watch.scanOnce()).toEqual([]); // nothing changed since the backup's scan
      expect((await projects.get(project.project_id)).backup_state).toBe('fresh');
      writeFileSync(path.join(dir, 'persist', 'state.json'), '{"ok":false}');
      expect(await watch.scanOnce()).toEqual([project.project_id]);
      expect((await projects.get(project.project_id)).backup_state).toBe('stale');
      expect(await watch.scanOnce()).toEqual([]); // seen once: last_edited holds it now
      // Backed up again; then an old mtime (a file copied in with its time kept) and a new file: the
      // scan looks past the backup, so the old one cannot hide the new one.
      expect(await b.run('project-backup', project.project_id)).toMatchObject({ status: 'succeeded' });
      const old = path.join(dir, 'project', 'copied-in.txt');
      writeFileSync(old, 'kept its mtime');
      utimesSync(old, new Date('2021-01-01'), new Date('2021-01-01'));
      expect((await projects.get(project.project_id)).backup_state).toBe('fresh'); // the folder's mtime is newer: next scan sees it
      expect(await watch.scanOnce()).toEqual([project.project_id]);
      expect((await projects.get(project.project_id)).backup_state).toBe('stale');
      // A restore through lro changes the project's files too: stale until the next backup.
      expect(await b.run('project-backup', project.project_id)).toMatchObject({ status: 'succeeded' });
      expect(await b.run('project-restore', project.project_id, { path: 'project/src', target: 'project/old' })).toMatchObject({
        status: 'succeeded',
      });
      expect((await projects.get(project.project_id)).backup_state).toBe('stale');
      expect(await b.run('project-stop', project.project_id)).toMatchObject({ status: 'succeeded' });
      writeFileSync(path.join(dir, 'project', 'while-stopped.txt'), 'x');
      expect(await watch.scanOnce()).toEqual([]); // a stopped project is not watched: its stop and backup scan it
    } finally {
      await host.pool.stop();
    }
  });

  it('refuses, and takes nothing, when the roots are missing; a project on no host cannot be backed up', async () => {
    const pool = host.pool;
    await pool.start();
    try {
      const empty = await b.newProject(host.host_id, 'empty');
      const failed = await lro.wait((await lro.store.create(projectOp(empty.project_id))).op.op_id, 30_000);
      expect(failed).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'no_data' } });
      expect(await projects.backups(empty.project_id)).toEqual([]);
      const nowhere = await b.newProject(null, 'nowhere');
      await expect(lro.store.create(projectOp(nowhere.project_id))).rejects.toMatchObject({ code: 'conflict' });
      await expect(lro.store.create({ kind: 'project-backup', scope: { type: 'hub' }, input: {} })).rejects.toMatchObject({
        code: 'invalid_input',
      });
    } finally {
      await pool.stop();
    }
  });
});
