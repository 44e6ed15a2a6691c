import { describe, expect, it } from 'vitest';
import { backupInsert } from '../src/domain/sql/backups.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';
import { openTestLro } from './helpers/lro.js';

// What the pages read: who is signed in, the caller's projects (search by title, by ids), a project
// with its host and collaborators, its backup region set while it has no backup, the hosts a caller
// administers. Each answers only what the caller may see; bad input is a 400 naming it.
const { lro } = await openTestLro();
const { call } = await startHub(lro);
const account = async (name: string) => (await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name } })).body;
const [ada, bob] = [await account('ada'), await account('bob')];
const host = (
  await call('POST', '/v1/hosts', { token: ADMIN_TOKEN, body: { name: 'h-1', region: 'local', admin_account_id: ada.account_id } })
).body;
const newProject = async (token: string, body: object) => (await call('POST', '/v1/projects', { token, body })).body;
const thesis = await newProject(ada.token, { title: 'Thesis 100% done_', host_id: host.host_id });
const notes = await newProject(ada.token, { title: 'notes' });
const bobs = await newProject(bob.token, { title: 'bob thesis' });

describe('the pages’ reads', () => {
  it('GET /v1/me names the caller', async () => {
    expect((await call('GET', '/v1/me', { token: ada.token })).body).toEqual({ kind: 'account', account_id: ada.account_id, name: 'ada' });
    expect((await call('GET', '/v1/me', { token: ADMIN_TOKEN })).body).toMatchObject({ kind: 'admin', name: 'admin' });
    expect((await call('GET', '/v1/me', { token: 'nope' })).status).toBe(401);
  });

  it('GET /v1/projects: the caller’s own, by title (literal % and _) or ids; the admin sees all', async () => {
    const titles = async (token: string, query = '') =>
      (await call('GET', `/v1/projects${query}`, { token })).body.projects.map((p: { title: string }) => p.title);
    expect(await titles(ada.token)).toEqual(['notes', 'Thesis 100% done_']);
    expect(await titles(ada.token, '?q=THESIS')).toEqual(['Thesis 100% done_']);
    expect(await titles(ada.token, '?q=0%25 d')).toEqual(['Thesis 100% done_']);
    expect(await titles(ada.token, '?q=e_')).toEqual(['Thesis 100% done_']);
    expect(await titles(ada.token, '?q=_')).toEqual(['Thesis 100% done_']);
    expect(await titles(ada.token, `?ids=${notes.project_id},${bobs.project_id}`)).toEqual(['notes']);
    expect(await titles(ADMIN_TOKEN, '?q=thesis')).toEqual(['bob thesis', 'Thesis 100% done_']);
    const listed = (await call('GET', '/v1/projects?q=thesis', { token: ada.token })).body.projects[0];
    expect(listed).toMatchObject({ host_name: 'h-1', host_status: 'off', backup_state: 'none' });
    for (const query of ['?ids=x', '?limit=0', '?limit=501', '?color=red']) {
      const bad = await call('GET', `/v1/projects${query}`, { token: ada.token });
      expect(bad, query).toMatchObject({ status: 400, body: { error: { code: 'invalid_input' } } });
    }
  });

  it('GET /v1/projects/:id: with its host and collaborators', async () => {
    const got = await call('GET', `/v1/projects/${thesis.project_id}`, { token: ada.token });
    expect(got.body).toMatchObject({
      host: { host_id: host.host_id, name: 'h-1', status: 'off', region: 'local' },
      collaborators: [{ account_id: ada.account_id, name: 'ada' }],
    });
    expect((await call('GET', `/v1/projects/${notes.project_id}`, { token: ada.token })).body.host).toBeNull();
    expect((await call('GET', `/v1/projects/${thesis.project_id}`, { token: bob.token })).status).toBe(404);
  });

  it('PATCH /v1/projects/:id sets the backup region until the first backup, never while an op is under way; then 409', async () => {
    const patch = (token: string, body: unknown) => call('PATCH', `/v1/projects/${notes.project_id}`, { token, body });
    expect(await patch(ada.token, { backup_region: 'eu-central' })).toMatchObject({ status: 200, body: { backup_region: 'eu-central' } });
    expect(await patch(ada.token, { backup_region: 'atlantis' })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_input' } },
    });
    expect(await patch(ada.token, { title: 'x' })).toMatchObject({ status: 400 });
    expect((await patch(bob.token, { backup_region: 'local' })).status).toBe(404);
    // An op queued on it (a backup about to write to the old region's bucket): refused until it ended.
    const queued = await call('POST', '/v1/ops', {
      token: ada.token,
      body: { kind: 'demo', scope: { type: 'project', id: notes.project_id }, input: {} },
    });
    expect(await patch(ada.token, { backup_region: 'local' })).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', details: { reason: 'op_active' } } },
    });
    await call('POST', `/v1/ops/${queued.body.op_id}/cancel`, { token: ada.token });
    expect(await patch(ada.token, { backup_region: 'eu-central' })).toMatchObject({ status: 200, body: { backup_region: 'eu-central' } });
    await backupInsert(lro.db, {
      project_id: notes.project_id,
      snapshot_id: 'ab12',
      region: 'eu-central',
      tags: [],
      bytes: 1,
      op_id: null,
    });
    expect(await patch(ada.token, { backup_region: 'local' })).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', details: { reason: 'has_backups' } } },
    });
  });

  it('GET /v1/hosts: the hosts the caller administers; the admin sees all', async () => {
    const names = async (token: string) => (await call('GET', '/v1/hosts', { token })).body.hosts.map((h: { name: string }) => h.name);
    expect(await names(ada.token)).toEqual(['h-1']);
    expect(await names(bob.token)).toEqual([]);
    expect(await names(ADMIN_TOKEN)).toContain('h-1');
  });
});
