import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';
import { openBackupLro, projectDir, writeProjectFiles } from './helpers/projects.js';

// Through the hub: only a project's collaborators may back it up, restore, start or stop it; a host
// admin sees their host's projects' ops; bad input is a 400 naming it, before anything runs.
const b = await openBackupLro();
const { call } = await startHub(b.lro);
const people: Record<'owner' | 'collab' | 'other' | 'hostAdmin', { account_id: string; token: string }> = {} as never;
let projectId: string;

beforeAll(async () => {
  for (const name of ['owner', 'collab', 'other', 'hostAdmin'] as const)
    people[name] = (await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name } })).body;
  const host = await call('POST', '/v1/hosts', {
    token: ADMIN_TOKEN,
    body: { name: 'h', region: 'local', admin_account_id: people.hostAdmin.account_id },
  });
  const project = await call('POST', '/v1/projects', { token: people.owner.token, body: { title: 't', backup_region: 'local' } });
  projectId = project.body.project_id;
  const added = await call('POST', `/v1/projects/${projectId}/collaborators`, {
    token: people.owner.token,
    body: { account_id: people.collab.account_id },
  });
  expect(added.status, JSON.stringify(added.body)).toBe(200);
  // Then placed on the host (as the hub admin would).
  await b.lro.db.query('UPDATE projects SET host_id = $2 WHERE project_id = $1', [projectId, host.body.host_id]);
  await b.lro.db.query(`UPDATE hosts SET status = 'running' WHERE host_id = $1`, [host.body.host_id]); // its liveness would say so
});

const create = (token: string, kind: string, input: object = {}) =>
  call('POST', '/v1/ops', { token, body: { kind, scope: { type: 'project', id: projectId }, input } });

describe('project kinds through the hub', () => {
  it('collaborators may create each project kind; anyone else is refused with 403/404 and nothing is written', async () => {
    for (const kind of ['project-backup', 'project-restore', 'project-start', 'project-stop']) {
      const ok = await create(people.collab.token, kind);
      expect(ok.status, `${kind} ${JSON.stringify(ok.body)}`).toBe(201);
      expect(ok.body.routing).toMatch(/^host:/);
      for (const token of [people.other.token, people.hostAdmin.token]) expect([403, 404]).toContain((await create(token, kind)).status);
    }
    const { rows } = await b.lro.db.query('SELECT count(*)::int AS n FROM long_running_operations');
    expect(rows[0].n).toBe(4);
    // The host's admin sees the ops that run on the host (and may cancel them); others do not.
    const op = (await create(people.collab.token, 'project-stop')).body;
    expect((await call('GET', `/v1/ops/${op.op_id}`, { token: people.hostAdmin.token })).status).toBe(200);
    expect((await call('GET', `/v1/ops/${op.op_id}`, { token: people.other.token })).status).toBe(404);
  });

  it('browses a backup folder by folder (one restic listing per snapshot), for collaborators only', async () => {
    const h = await b.host('browse-host');
    await h.pool.start();
    try {
      const mine = await call('POST', '/v1/projects', { token: people.owner.token, body: { title: 'b', backup_region: 'local' } });
      const id = mine.body.project_id as string;
      await b.lro.db.query('UPDATE projects SET host_id = $2 WHERE project_id = $1', [id, h.host_id]);
      writeProjectFiles(projectDir(h.dataDir, id), 6);
      const backup = await b.run('project-backup', id);
      expect(backup.status).toBe('succeeded');
      const snap = (backup.result as { snapshot_id: string }).snapshot_id;
      const listed = await call('GET', `/v1/projects/${id}/backups`, { token: people.owner.token });
      expect(listed.body.backups).toMatchObject([{ snapshot_id: snap, region: 'local', tags: [`project=${id}`, 'layout=v2'] }]);
      const root = await call('GET', `/v1/projects/${id}/backups/${snap}/tree`, { token: people.owner.token });
      expect(root.status).toBe(200);
      expect(root.body.entries.map((e: { name: string }) => e.name)).toEqual(['persist', 'project']);
      const src = await call('GET', `/v1/projects/${id}/backups/${snap}/tree?path=project/src`, { token: people.owner.token });
      expect(src.body.entries[0]).toMatchObject({ name: 'deep', type: 'dir', path: 'project/src/deep' });
      expect(src.body.entries.filter((e: { type: string }) => e.type === 'file')).toHaveLength(4);
      const missing = await call('GET', `/v1/projects/${id}/backups/${snap}/tree?path=project/nope`, { token: people.owner.token });
      expect(missing.status).toBe(404);
      expect((await call('GET', `/v1/projects/${id}/backups/deadbeef/tree`, { token: people.owner.token })).status).toBe(404);
      expect((await call('GET', `/v1/projects/${id}/backups/${snap}/tree?path=../x`, { token: people.owner.token })).status).toBe(400);
      expect((await call('GET', `/v1/projects/${id}/backups/${snap}/tree`, { token: people.other.token })).status).toBe(404);
    } finally {
      await h.pool.stop();
    }
  });

  it('bad input is a 400 that names it', async () => {
    for (const [kind, input] of [
      ['project-restore', { path: '../../etc/passwd' }],
      ['project-restore', { target: '/tmp' }],
      ['project-start', { restore: 'sometimes' }],
      ['project-backup', { paths: ['x'] }],
    ] as const) {
      const res = await create(people.owner.token, kind, input);
      expect(res.status, `${kind} ${JSON.stringify(input)}`).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
      expect(res.body.error.message).not.toMatch(/at .*\.ts:\d+/); // no stack
    }
  });
});
