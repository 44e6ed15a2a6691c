import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ForbiddenError, NotFoundError, UnavailableError } from '../../lro/errors.js';
import { RelativePath } from '../../backup/files.js';
import { ResticError } from '../../backup/restic.js';
import { parseOrThrow } from '../../lro/schemas.js';
import { AccountBody, CollaboratorBody, HostBody, Id, ProjectBody } from '../../domain/schemas.js';
import type { HubContext } from '../app.js';
import { route } from '../auth.js';

const RegionQuery = z
  .strictObject({
    lat: z.coerce.number().min(-90).max(90).optional(),
    lon: z.coerce.number().min(-180).max(180).optional(),
  })
  .refine((q) => (q.lat === undefined) === (q.lon === undefined), 'give both lat and lon, or neither');

const SnapshotParams = z.object({ snapshot_id: z.string().regex(/^[0-9a-f]{8,64}$/, 'must be a snapshot id: 8 to 64 hex digits') });
const TreeQuery = z.strictObject({ path: RelativePath.default('') });

/** restic's answer at the boundary: an unknown snapshot or folder is a 404, a bucket that fails a 503. */
async function fromRestic<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ResticError)) throw err;
    if (err.code === 'snapshot_not_found') throw new NotFoundError(err.message.replace(/ not found$/, ''));
    throw new UnavailableError(`the backup bucket could not be read (${err.code})`);
  }
}

/** Accounts, hosts, projects and collaborators: the domain the ops act on and who may see them. */
export function domainRoutes(app: FastifyInstance, ctx: HubContext) {
  const { access, hosts, projects, regions } = ctx;

  app.post('/v1/accounts', route.admin, async (request, reply) => {
    const { name } = parseOrThrow(AccountBody, request.body, 'request body');
    const { account, token } = await access.createAccount(name);
    return reply.code(201).send({ ...account, token });
  });

  app.post('/v1/hosts', route.admin, async (request, reply) => {
    const body = parseOrThrow(HostBody, request.body, 'request body');
    return reply.code(201).send(await hosts.create(body));
  });

  app.get('/v1/hosts/:host_id', route.account, async (request) => {
    const { host_id } = parseOrThrow(z.strictObject({ host_id: Id }), request.params, 'path');
    const host = await hosts.find(host_id);
    if (!host || !(await access.isHostAdmin(request.caller, host_id))) throw new NotFoundError(`host ${host_id}`);
    const placed = await projects.listByHost(host_id);
    const backup_counts = { none: 0, fresh: 0, stale: 0 };
    for (const p of placed) backup_counts[p.backup_state]++;
    return {
      ...host,
      backup_counts,
      projects: placed.map((p) => ({
        project_id: p.project_id,
        title: p.title,
        last_edited: p.last_edited,
        last_backup: p.last_backup,
        backup_state: p.backup_state,
        backup_fresh: p.backup_fresh,
      })),
    };
  });

  app.get('/v1/regions', route.account, async (request) => {
    return { regions: await regions.list(parseOrThrow(RegionQuery, request.query, 'query')) };
  });

  app.post('/v1/projects', route.account, async (request, reply) => {
    const { caller } = request;
    if (!caller.account_id) throw new ForbiddenError('projects belong to accounts: create one with an account token');
    const body = parseOrThrow(ProjectBody, request.body, 'request body');
    // Placing a project on a host lets its collaborators run ops there: only the host's admin may. A
    // missing host gets the same 403, so the answer tells nothing about which host ids exist. A host
    // deleted after this check is the store's not_found (its foreign key), not a 500.
    if (body.host_id && !(await access.isHostAdmin(caller, body.host_id))) {
      throw new ForbiddenError(`you may not place projects on host ${body.host_id}: only its host admin may`);
    }
    return reply.code(201).send(await projects.create({ ...body, created_by: caller.account_id }));
  });

  /** A project the caller collaborates on (admin: any); otherwise not_found. */
  async function visibleProject(request: FastifyRequest) {
    const { id } = parseOrThrow(z.object({ id: Id }), request.params, 'path');
    const project = await projects.find(id);
    if (!project || !(await access.canUseScope(request.caller, { type: 'project', id }))) throw new NotFoundError(`project ${id}`);
    return project;
  }

  app.get('/v1/projects/:id', route.account, async (request) => visibleProject(request));

  app.get('/v1/projects/:id/backups', route.account, async (request) => {
    const project = await visibleProject(request);
    return { backups: await projects.backups(project.project_id) };
  });

  // One folder of a snapshot: `path` inside it ('' the root: `project/`, `persist/`). The snapshot's
  // listing is one restic call, kept per snapshot (src/backup/browse.ts), so browsing deeper is free.
  app.get('/v1/projects/:id/backups/:snapshot_id/tree', route.account, async (request) => {
    const project = await visibleProject(request);
    const { snapshot_id } = parseOrThrow(SnapshotParams, request.params, 'path');
    const { path } = parseOrThrow(TreeQuery, request.query, 'query');
    const backups = ctx.lro.backups;
    if (!backups || !project.backup_region) throw new UnavailableError('backups are not configured on this hub (LRO_RESTIC_PASSWORD_FILE)');
    const { snapshot, entries } = await fromRestic(() =>
      backups.browser.folder(project.project_id, project.backup_region!, snapshot_id, path),
    );
    return { snapshot_id: snapshot.id, time: snapshot.time, path, entries };
  });

  app.post('/v1/projects/:id/collaborators', route.account, async (request) => {
    const project = await visibleProject(request);
    const { account_id } = parseOrThrow(CollaboratorBody, request.body, 'request body');
    // The collaborators of a project placed on a host may run ops on that host: only its admin adds them.
    if (project.host_id && !(await access.isHostAdmin(request.caller, project.host_id))) {
      throw new ForbiddenError(`project ${project.project_id} is placed on a host: only that host's admin may add collaborators`);
    }
    await projects.addCollaborator({ project_id: project.project_id, account_id });
    return { project_id: project.project_id, account_id };
  });
}
