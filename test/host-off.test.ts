import { describe, expect, it } from 'vitest';
import { HostStore } from '../src/domain/hosts.js';
import { openBackupLro, projectDir, writeProjectFiles } from './helpers/projects.js';

// host-off: a parent op on the hub whose children stop and back up every project of the host, rolled
// up into its bar; then the host is off and takes no more project ops. With force: off at once.
const b = await openBackupLro();
const { lro, projects } = b;
const hosts = new HostStore({ db: lro.db });
const hub = lro.workerPool({ routing: ['hub'], ownerType: 'hub' });
await hub.start();

const hostOff = (hostId: string, input: object = {}) =>
  lro.store.create({ kind: 'host-off', scope: { type: 'host', id: hostId }, input }).then(({ op }) => lro.wait(op.op_id, 120_000));

describe('host-off', () => {
  it('backs up all three projects (the running one stopped first), then marks the host off', async () => {
    const host = await b.host('host-going-off');
    await host.pool.start();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const p = await b.newProject(host.host_id, `p${i}`);
        writeProjectFiles(projectDir(host.dataDir, p.project_id), 3);
        ids.push(p.project_id);
      }
      expect(await b.run('project-start', ids[0]!)).toMatchObject({ status: 'succeeded' });
      const done = await hostOff(host.host_id);
      expect(done).toMatchObject({ status: 'succeeded', result: { backed_up: 3, skipped: 0 } });
      expect((await hosts.get(host.host_id)).status).toBe('off');
      for (const id of ids) expect(await projects.get(id)).toMatchObject({ backup_state: 'fresh', run_state: 'stopped' });
      // Its children: one stop and three backups, each visible by parent.
      const children = (await lro.store.list({ parent_id: done.op_id })).ops;
      expect(children.map((c) => c.kind).sort()).toEqual(['project-backup', 'project-backup', 'project-backup', 'project-stop']);
      expect(children.every((c) => c.status === 'succeeded')).toBe(true);
      // The bar rolled up: the backup phase ended with all three done.
      expect(done.progress_summary?.phases.find((p) => p.phase === 'backup')).toMatchObject({ current: 3, total: 3 });
      // Off: no project op is routed to it any more.
      await expect(lro.store.create(b.projectOp('project-start', ids[1]!))).rejects.toMatchObject({ details: { reason: 'host_off' } });
    } finally {
      await host.pool.stop();
    }
  });

  it('force: off at once, nothing backed up; a host already off cannot have its projects backed up', async () => {
    const host = await b.host('host-forced-off');
    for (let i = 0; i < 2; i++) await b.newProject(host.host_id, `q${i}`);
    const done = await hostOff(host.host_id, { force: true });
    expect(done).toMatchObject({ status: 'succeeded', result: { backed_up: 0, skipped: 2 } });
    expect((await lro.store.list({ parent_id: done.op_id })).ops).toEqual([]);
    expect((await hosts.get(host.host_id)).status).toBe('off');
    expect(await hostOff(host.host_id)).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'host_off' } });
    await expect(lro.store.create({ kind: 'host-off', scope: { type: 'hub' }, input: {} })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });
});
