import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostStore } from '../src/domain/hosts.js';
import { ProjectStore } from '../src/domain/projects.js';
import { openTestLro } from './helpers/lro.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';

const { lro, url } = await openTestLro();
const { call } = await startHub(lro);
const hosts = new HostStore({ db: lro.db });
const projects = new ProjectStore({ db: lro.db });

let admin: { account_id: string; token: string };

beforeAll(async () => {
  admin = (await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name: 'host admin' } })).body;
});

const newHost = async () =>
  (
    await call('POST', '/v1/hosts', {
      token: ADMIN_TOKEN,
      body: { name: `h-${randomUUID().slice(0, 8)}`, region: 'local', admin_account_id: admin.account_id },
    })
  ).body.host_id as string;

describe('domain stores translate what the database refuses', () => {
  it('a row a write refers to that is gone is a not_found naming it; a malformed id is invalid_input; never a 500', async () => {
    const hostId = await newHost();
    await lro.db.query('DELETE FROM hosts WHERE host_id = $1', [hostId]);
    await expect(projects.create({ title: 't', created_by: admin.account_id, host_id: hostId })).rejects.toMatchObject({
      code: 'not_found',
      message: `host ${hostId} not found`,
    });
    const nobody = randomUUID();
    await expect(hosts.create({ name: 'h', region: 'local', admin_account_id: nobody })).rejects.toMatchObject({
      code: 'not_found',
      message: `account ${nobody} not found`,
    });
    const project = await projects.create({ title: 't', created_by: admin.account_id });
    await expect(projects.addCollaborator({ project_id: project.project_id, account_id: nobody })).rejects.toMatchObject({
      code: 'not_found',
      message: `account ${nobody} not found`,
    });
    await expect(projects.get('not-a-uuid')).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(hosts.setStatus(hostId, 'running')).rejects.toMatchObject({ code: 'not_found' });
    await expect(projects.create({ title: 't', created_by: admin.account_id, backup_region: 'atlantis' })).rejects.toMatchObject({
      code: 'invalid_input',
      details: { field: 'backup_region' },
    });
  });

  it('a project created on a host deleted at the same moment is a 404 for the host, not a 500', async () => {
    const hostId = await newHost();
    // The delete takes the host's row lock first; the route's check still sees the host (the delete
    // is not committed), then its insert waits on that lock for the foreign key check.
    const deleter = new pg.Client({ connectionString: url });
    await deleter.connect();
    try {
      await deleter.query('BEGIN');
      await deleter.query('DELETE FROM hosts WHERE host_id = $1', [hostId]);
      const deleterPid = (await deleter.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const created = call('POST', '/v1/projects', { token: admin.token, body: { title: 'raced', host_id: hostId } });
      // The signal: a backend blocked by the deleter (the insert's foreign key check).
      await expect
        .poll(
          async () =>
            (await lro.db.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [deleterPid]))
              .rows[0].n,
          { timeout: 10_000 },
        )
        .toBe(1);
      await deleter.query('COMMIT');
      const res = await created;
      expect(res).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: `host ${hostId} not found` } } });
    } finally {
      await deleter.end();
    }
  });
});

describe('backup freshness, decided once', () => {
  it("none, then fresh, then stale: the same on the project and on its host's page", async () => {
    const hostId = await newHost();
    const made = await call('POST', '/v1/projects', { token: admin.token, body: { title: 'p', host_id: hostId } });
    expect(made).toMatchObject({ status: 201, body: { backup_state: 'none', backup_fresh: false } });
    const id = made.body.project_id as string;
    const seen = async () => {
      const project = (await call('GET', `/v1/projects/${id}`, { token: admin.token })).body;
      const onHost = (await call('GET', `/v1/hosts/${hostId}`, { token: admin.token })).body.projects[0];
      expect(onHost).toMatchObject({ backup_state: project.backup_state, backup_fresh: project.backup_fresh });
      return project.backup_state as string;
    };
    expect(await seen()).toBe('none');
    await lro.db.query("UPDATE projects SET last_backup = now() - interval '1 hour' WHERE project_id = $1", [id]);
    expect(await seen()).toBe('fresh');
    await lro.db.query('UPDATE projects SET last_edited = now() WHERE project_id = $1', [id]);
    expect(await seen()).toBe('stale');
    await lro.db.query('UPDATE projects SET last_backup = now() WHERE project_id = $1', [id]);
    expect(await seen()).toBe('fresh');
  });
});

describe("sql/009: a project's backup region is a backup region", () => {
  it('the database refuses a project naming no region; the migration stops, naming the regions, when old rows do', async () => {
    const { projectInsert } = await import('../src/domain/sql/projects.js');
    const { translatingPg } = await import('../src/lro/errors.js');
    // What the store's region check cannot see coming: the region deleted between check and insert.
    await expect(
      translatingPg(() => projectInsert(lro.db, { title: 't', host_id: null, backup_region: 'atlantis', created_by: admin.account_id })),
    ).rejects.toMatchObject({ code: 'not_found', message: 'backup_region atlantis not found' });
    const { readFile } = await import('node:fs/promises');
    const migration = await readFile(new URL('../sql/009_project_backup_region_fk.sql', import.meta.url), 'utf8');
    const client = await lro.db.connect();
    try {
      await client.query('BEGIN');
      expect((await client.query("SELECT convalidated FROM pg_constraint WHERE conname = 'projects_backup_region_fkey'")).rows).toEqual([
        { convalidated: true },
      ]);
      // A database whose old rows predate the constraint (or its 005 the constraint itself).
      await client.query('ALTER TABLE projects DROP CONSTRAINT projects_backup_region_fkey');
      await client.query("INSERT INTO projects (title, backup_region) VALUES ('old', 'atlantis'), ('older', 'lemuria'), ('ok', 'local')");
      await client.query('SAVEPOINT before');
      await expect(client.query(migration)).rejects.toThrow(
        "projects name backup regions that backup_regions lacks: 'atlantis', 'lemuria'",
      );
      await client.query('ROLLBACK TO SAVEPOINT before');
      await client.query("UPDATE projects SET backup_region = NULL WHERE backup_region IN ('atlantis', 'lemuria')");
      await client.query(migration);
      expect((await client.query("SELECT convalidated FROM pg_constraint WHERE conname = 'projects_backup_region_fkey'")).rows).toEqual([
        { convalidated: true },
      ]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
