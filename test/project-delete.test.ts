import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Restic } from '../src/backup/restic.js';
import { openBackupLro, projectDir, writeProjectFiles } from './helpers/projects.js';

// project-delete on the hub: stopped, its files removed from its host, its snapshots forgotten and
// pruned, its record gone; another project's backups in the same bucket untouched.
const b = await openBackupLro();
const { lro, projects } = b;
await lro.workerPool({ routing: ['hub'], ownerType: 'hub' }).start();
const host = await b.host('delete-host');
await host.pool.start();
const bucket = { repository: path.join(b.base, '.data/buckets/local'), passwordFile: b.passwordFile };
const snapshotsOf = async (projectId: string) =>
  JSON.parse(await new Restic().run(bucket, ['snapshots', '--json', '--tag', `project=${projectId}`])) as unknown[];

describe('project-delete', () => {
  it('removes the files on the host, every snapshot in the bucket and the record; other projects keep theirs', async () => {
    const keep = await b.newProject(host.host_id, 'keep');
    writeProjectFiles(projectDir(host.dataDir, keep.project_id), 3);
    expect(await b.run('project-backup', keep.project_id)).toMatchObject({ status: 'succeeded' });
    const doomed = await b.newProject(host.host_id, 'doomed');
    const dir = projectDir(host.dataDir, doomed.project_id);
    writeProjectFiles(dir, 3);
    expect(await b.run('project-start', doomed.project_id)).toMatchObject({ status: 'succeeded' });
    for (let i = 0; i < 2; i++) expect(await b.run('project-backup', doomed.project_id)).toMatchObject({ status: 'succeeded' });
    expect(await snapshotsOf(doomed.project_id)).toHaveLength(2);

    const done = await b.run('project-delete', doomed.project_id);
    expect(done).toMatchObject({ status: 'succeeded', result: { snapshots_forgotten: 2 } });
    expect(await snapshotsOf(doomed.project_id)).toEqual([]); // restic snapshots shows none
    expect(existsSync(dir)).toBe(false);
    expect(await projects.find(doomed.project_id)).toBeNull();
    const children = (await lro.store.list({ parent_id: done.op_id })).ops.map((c) => c.kind).sort();
    expect(children).toEqual(['project-purge', 'project-stop']);

    expect(await snapshotsOf(keep.project_id)).toHaveLength(1);
    await new Restic().run(bucket, ['check']); // the prune left a sound bucket
    expect(await b.run('project-restore', keep.project_id, { target: 'project/again' })).toMatchObject({ status: 'succeeded' });
  });
});
