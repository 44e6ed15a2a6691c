import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { queueCopiesForHost } from '../src/backup/copy-host.js';
import { Restic } from '../src/backup/restic.js';
import { HostStore } from '../src/domain/hosts.js';
import type { Operation } from '../src/shared/operation.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';
import { openBackupLro, projectDir, treeOf, writeProjectFiles } from './helpers/projects.js';

// project-copy: a folder of one project into many, across hosts, one of them off; one snapshot for
// all, applied at once where the host runs and when the off host starts; the snapshot gone after.
const b = await openBackupLro();
const { lro } = b;
const hosts = new HostStore({ db: lro.db });
await lro.workerPool({ routing: ['hub'], ownerType: 'hub', concurrency: 4 }).start();
const hA = await b.host('copy-a');
const hB = await b.host('copy-b');
const hC = await b.host('copy-c-off');
await hosts.setStatus(hC.host_id, 'off');
await hA.pool.start();
await hB.pool.start();
const bucket = { repository: path.join(b.base, '.data/buckets/local'), passwordFile: b.passwordFile };
const copySnapshots = async () => JSON.parse(await new Restic().run(bucket, ['snapshots', '--json', '--tag', 'purpose=copy'])) as unknown[];

const source = await b.newProject(hA.host_id, 'course');
const sourceDir = projectDir(hA.dataDir, source.project_id);
writeProjectFiles(sourceDir, 12);
const handout = path.join(sourceDir, 'project', 'src'); // the folder handed out
const copy = (input: object) =>
  lro.store
    .create({ kind: 'project-copy', scope: { type: 'project', id: source.project_id }, input })
    .then(({ op }) => lro.wait(op.op_id, 300_000));
const dirOf = (hostDataDir: string, projectId: string) => projectDir(hostDataDir, projectId);

describe('project-copy', () => {
  it('one folder to 100 projects on three hosts, one off: at once where hosts run, on start for the off one; one snapshot', async () => {
    const placed: { id: string; dataDir: string }[] = [];
    for (let i = 0; i < 100; i++) {
      const host = i < 30 ? hA : i < 80 ? hB : hC;
      placed.push({ id: (await b.newProject(host.host_id, `student${i}`)).project_id, dataDir: host.dataDir });
    }
    const done = await copy({ paths: ['project/src'], dests: placed.map((p) => ({ project_id: p.id, path: 'project/handouts' })) });
    expect(done.status).toBe('succeeded');
    const result = done.result as { snapshot_id: string; dests: { project_id: string; status: string }[] };
    expect(result.snapshot_id).toMatch(/^[0-9a-f]{8,64}$/);
    const statuses = result.dests.map((d) => d.status);
    expect(statuses.slice(0, 80).every((s) => s === 'done')).toBe(true);
    expect(statuses.slice(80).every((s) => s === 'pending')).toBe(true);
    const want = treeOf(handout);
    for (const p of placed.slice(0, 80)) expect(treeOf(path.join(dirOf(p.dataDir, p.id), 'project', 'handouts', 'src'))).toEqual(want);
    // One bar: the copy phase counted every destination's child (30 local copies, 50 applies).
    expect(done.progress_summary!.phases.find((p) => p.phase === 'copy')).toMatchObject({ total: 80, current: 80 });
    expect(await copySnapshots()).toHaveLength(1); // still needed by the 20 on the host that is off

    // The host comes back: its projects' copies are applied, and the snapshot is forgotten.
    await hosts.setStatus(hC.host_id, 'running');
    await hC.pool.start();
    try {
      expect(await queueCopiesForHost(lro.db, (r) => lro.store.createMany(r), hC.host_id)).toBe(20);
      const applies = (await lro.store.list({ kind: 'project-copy-apply', status: ['queued', 'running'], limit: 100 })).ops;
      for (const op of applies) expect(await lro.wait(op.op_id, 120_000)).toMatchObject({ status: 'succeeded' });
    } finally {
      await hC.pool.stop();
    }
    for (const p of placed.slice(80)) expect(treeOf(path.join(dirOf(p.dataDir, p.id), 'project', 'handouts', 'src'))).toEqual(want);
    expect(await copySnapshots()).toEqual([]);
  }, 600_000);

  it('a copy into a project never started makes it whole: edited now, and it backs up', async () => {
    const fresh = await b.newProject(hB.host_id, 'never-started');
    const both = lro.store.create({
      kind: 'project-copy',
      scope: { type: 'project', id: source.project_id },
      input: {
        paths: ['project/src'],
        dests: [{ project_id: fresh.project_id, path: 'project' }],
        options: { error_on_exist: true, force: true },
      },
    });
    await expect(both).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/not both/) });
    const done = await copy({ paths: ['project/src'], dests: [{ project_id: fresh.project_id, path: 'project' }] });
    expect(done).toMatchObject({ status: 'succeeded', result: { dests: [{ status: 'done' }] } });
    expect(await b.projects.get(fresh.project_id)).toMatchObject({ last_edited: expect.any(Date), backup_state: 'none' });
    expect(await b.run('project-backup', fresh.project_id)).toMatchObject({ status: 'succeeded' });
    expect(await b.projects.get(fresh.project_id)).toMatchObject({ backup_state: 'fresh' });
  });

  it('error_on_exist refuses, force replaces, the default merges; a copy that expires cleans up too', async () => {
    const dest = await b.newProject(hB.host_id, 'has-one');
    const there = path.join(dirOf(hB.dataDir, dest.project_id), 'project', 'in', 'src');
    mkdirSync(there, { recursive: true });
    writeFileSync(path.join(there, 'mine.txt'), 'my own work');
    const to = [{ project_id: dest.project_id, path: 'project/in' }];
    const statusOf = (op: Operation) => (op.result as { dests: { status: string }[] }).dests[0]!.status;

    expect(statusOf(await copy({ paths: ['project/src'], dests: to, options: { error_on_exist: true } }))).toBe('failed');
    expect(Object.keys(treeOf(there))).toEqual(['mine.txt']);
    expect(statusOf(await copy({ paths: ['project/src'], dests: to }))).toBe('done'); // merged: both
    expect(treeOf(there)).toEqual({ ...treeOf(handout), 'mine.txt': expect.any(String) });
    expect(statusOf(await copy({ paths: ['project/src'], dests: to, options: { force: true } }))).toBe('done'); // replaced
    expect(treeOf(there)).toEqual(treeOf(handout));
    expect(await copySnapshots()).toEqual([]);

    // To a project on a host that is off, never started: pending, then expired, and its snapshot forgotten.
    const later = await b.newProject(hC.host_id, 'later');
    await hosts.setStatus(hC.host_id, 'off');
    const pending = await copy({ paths: ['project/src'], dests: [{ project_id: later.project_id, path: 'project/in' }] });
    expect(statusOf(pending)).toBe('pending');
    expect(await copySnapshots()).toHaveLength(1);
    await lro.db.query(`UPDATE project_copies SET expires_at = now() - interval '1 second' WHERE dest_project_id = $1`, [later.project_id]);
    const { op } = await lro.store.create({ kind: 'copies-expire', scope: { type: 'hub' }, input: {} });
    expect(await lro.wait(op.op_id, 60_000)).toMatchObject({ status: 'succeeded', result: { expired: 1, snapshots_forgotten: 1 } });
    expect(await copySnapshots()).toEqual([]);
  }, 300_000);

  it('copies from one source at once, each its own snapshot child: none waits on another', async () => {
    const dests = await Promise.all([0, 1, 2].map((i) => b.newProject(hB.host_id, `at-once-${i}`)));
    const ops = await Promise.all(
      dests.map((d) => copy({ paths: ['project/src'], dests: [{ project_id: d.project_id, path: 'project/x' }] })),
    );
    for (const op of ops) expect(op).toMatchObject({ status: 'succeeded', result: { dests: [{ status: 'done' }] } });
    expect(await copySnapshots()).toEqual([]);
  }, 120_000);

  it('a symbolic link out of a project is refused: neither read through on the source nor written through on a destination', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'lro-outside-'));
    writeFileSync(path.join(outside, 'secret.txt'), 'the host is not yours');
    symlinkSync(outside, path.join(sourceDir, 'project', 'escape'));
    const near = await b.newProject(hA.host_id, 'near'); // on the source's host: a local copy
    const far = await b.newProject(hB.host_id, 'far'); // another host: through a snapshot
    const read = (dest: { project_id: string }) =>
      copy({ paths: ['project/escape/secret.txt'], dests: [{ project_id: dest.project_id, path: 'project/in' }] });
    expect((await read(near)).result).toMatchObject({ dests: [{ status: 'failed' }] }); // its local copy refused
    const remote = await read(far); // its snapshot refused: nothing of the host's goes into the bucket
    expect(remote).toMatchObject({
      status: 'failed',
      error: { message: expect.stringMatching(/leads outside the project .* symbolic link/) },
    });
    for (const [dest, dataDir] of [
      [near, hA.dataDir],
      [far, hB.dataDir],
    ] as const) {
      expect(existsSync(path.join(dirOf(dataDir, dest.project_id), 'project', 'in'))).toBe(false);
    }
    // A destination whose folder is a link to the outside: the copy there fails, nothing lands outside.
    const farDir = dirOf(hB.dataDir, far.project_id);
    mkdirSync(path.join(farDir, 'project'), { recursive: true });
    symlinkSync(outside, path.join(farDir, 'project', 'out'));
    const done = await copy({ paths: ['project/src'], dests: [{ project_id: far.project_id, path: 'project/out' }] });
    expect(done.result).toMatchObject({ dests: [{ status: 'failed' }] });
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    const row = (await lro.db.query('SELECT last_error FROM project_copies WHERE dest_project_id = $1', [far.project_id])).rows[0];
    expect(row.last_error).toMatch(/leads outside the project/);
  }, 120_000);

  it('refuses bad paths and unknown destinations before anything runs', async () => {
    const dest = await b.newProject(hB.host_id, 'd');
    const to = [{ project_id: dest.project_id, path: 'project/in' }];
    const bad: [object, RegExp][] = [
      [{ paths: ['../etc'], dests: to }, /must not contain \.\./],
      [{ paths: ['/etc'], dests: to }, /must be relative/],
      [{ paths: ['other/x'], dests: to }, /inside project\/ or persist\//],
      [{ paths: ['project/src'], dests: [{ project_id: dest.project_id, path: 'project/../../x' }] }, /must not contain \.\./],
      [{ paths: ['project/src'], dests: [{ project_id: '00000000-0000-4000-8000-000000000000', path: 'project/in' }] }, /not found/],
      [{ paths: ['project/src'], dests: [{ project_id: source.project_id, path: 'project/src/inner' }] }, /into itself/],
    ];
    for (const [input, message] of bad) {
      const create = lro.store.create({ kind: 'project-copy', scope: { type: 'project', id: source.project_id }, input });
      await expect(create).rejects.toMatchObject({ message: expect.stringMatching(message) });
    }
  });
});

describe('project-copy through the hub', () => {
  it('needs a collaborator of the source and of every destination; pending copies are listed and can be canceled', async () => {
    const { call } = await startHub(lro);
    const admin = { token: ADMIN_TOKEN };
    const [alice, bob] = await Promise.all(
      ['alice', 'bob'].map(async (name) => (await call('POST', '/v1/accounts', { ...admin, body: { name } })).body),
    );
    const mine = await b.newProject(hC.host_id, 'alice-dest');
    const theirs = await b.newProject(hC.host_id, 'bob-dest');
    for (const [projectId, who] of [
      [source.project_id, alice],
      [mine.project_id, alice],
      [theirs.project_id, bob],
    ] as const) {
      await lro.db.query('INSERT INTO project_collaborators (project_id, account_id) VALUES ($1, $2)', [projectId, who.account_id]);
    }
    await hosts.setStatus(hC.host_id, 'off');
    const body = (dests: string[]) => ({
      kind: 'project-copy',
      scope: { type: 'project', id: source.project_id },
      input: { paths: ['project/src'], dests: dests.map((id) => ({ project_id: id, path: 'project/in' })) },
    });
    const count = async () => (await lro.db.query('SELECT count(*)::int AS n FROM long_running_operations')).rows[0].n;
    const before = await count();
    const refused = await call('POST', '/v1/ops', { token: alice.token, body: body([mine.project_id, theirs.project_id]) });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain(`would change project ${theirs.project_id}`);
    expect(await count()).toBe(before);

    const made = await call('POST', '/v1/ops', { token: alice.token, body: body([mine.project_id]) });
    expect(made.status).toBe(201);
    expect(await lro.wait(made.body.op_id, 120_000)).toMatchObject({ status: 'succeeded' });
    const listed = await call('GET', `/v1/projects/${mine.project_id}/copies`, { token: alice.token });
    expect(listed.body.copies).toEqual([expect.objectContaining({ dest_project_id: mine.project_id, status: 'pending' })]);
    expect((await call('GET', `/v1/projects/${mine.project_id}/copies`, { token: bob.token })).status).toBe(404);
    const copyId = listed.body.copies[0].copy_id;
    expect((await call('POST', `/v1/copies/${copyId}/cancel`, { token: bob.token })).status).toBe(404);
    const canceled = await call('POST', `/v1/copies/${copyId}/cancel`, { token: alice.token });
    expect(canceled).toMatchObject({ status: 200, body: { status: 'canceled', snapshot_forgotten: true } });
    expect((await call('POST', `/v1/copies/${copyId}/cancel`, { token: alice.token })).status).toBe(409);
    expect(await copySnapshots()).toEqual([]);
  }, 120_000);
});
