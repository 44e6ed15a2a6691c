import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ForbiddenError, NotFoundError } from '../../lro/errors.js';
import { parseOrThrow } from '../../lro/schemas.js';
import { accountGet } from '../../domain/sql/accounts.js';
import { hostGet, hostInsert } from '../../domain/sql/hosts.js';
import { collaboratorAdd, projectGet, projectInsert, projectsOnHost } from '../../domain/sql/projects.js';
import { regionsByDistance } from '../../domain/sql/regions.js';
import { requireRegion } from '../../domain/regions.js';
import { backupsOfProject } from '../../domain/sql/backups.js';
import { AccountBody, CollaboratorBody, HostBody, Id, ProjectBody } from '../../domain/schemas.js';
import type { FastifyRequest } from 'fastify';
import type { HubContext } from '../app.js';
import { route } from '../auth.js';


/** Accounts, hosts, projects and collaborators: the domain the ops act on and who may see them. */
export function domainRoutes(app: FastifyInstance, ctx: HubContext) {
  const { lro, access } = ctx;
  const db = lro.db;

  app.post('/v1/accounts', route.admin, async (request, reply) => {
    const { name } = parseOrThrow(AccountBody, request.body, 'request body');
    const { account, token } = await access.createAccount(name);
    return reply.code(201).send({ ...account, token });
  });

  app.post('/v1/hosts', route.admin, async (request, reply) => {
    const body = parseOrThrow(HostBody, request.body, 'request body');
    await requireRegion(db, body.region, 'region');
    if (body.admin_account_id && !(await accountGet(db, body.admin_account_id))) throw new NotFoundError(`account ${body.admin_account_id}`);
    return reply.code(201).send(await hostInsert(db, { ...body, admin_account_id: body.admin_account_id ?? null }));
  });

  app.get('/v1/hosts/:host_id', route.account, async (request) => {
    const { caller } = request;
    const { host_id } = parseOrThrow(z.strictObject({ host_id: Id }), request.params, 'path');
    const host = await hostGet(db, host_id);
    if (!host || !(await access.isHostAdmin(caller, host_id))) throw new NotFoundError(`host ${host_id}`);
    const projects = await projectsOnHost(db, host_id);
    return { ...host, projects: projects.map((p) => ({ project_id: p.project_id, title: p.title, last_edited: p.last_edited,
      last_backup: p.last_backup, backup_fresh: p.backup_fresh })) };
  });

  const RegionQuery = z.strictObject({
    lat: z.coerce.number().min(-90).max(90).optional(), lon: z.coerce.number().min(-180).max(180).optional(),
  }).refine((q) => (q.lat === undefined) === (q.lon === undefined), 'give both lat and lon, or neither');
  app.get('/v1/regions', route.account, async (request) => {
    const q = parseOrThrow(RegionQuery, request.query, 'query');
    return { regions: await regionsByDistance(db, q) };
  });

  app.post('/v1/projects', route.account, async (request, reply) => {
    const { caller } = request;
    if (!caller.account_id) throw new ForbiddenError('projects belong to accounts: create one with an account token');
    const body = parseOrThrow(ProjectBody, request.body, 'request body');
    // Placing a project on a host lets its collaborators run ops there: only the host's admin may. A
    // missing host gets the same 403, so the answer tells nothing about which host ids exist.
    if (body.host_id && !(await access.isHostAdmin(caller, body.host_id))) {
      throw new ForbiddenError(`you may not place projects on host ${body.host_id}: only its host admin may`);
    }
    if (body.backup_region) await requireRegion(db, body.backup_region, 'backup_region');
    const project = await projectInsert(db, {
      title: body.title, host_id: body.host_id ?? null, backup_region: body.backup_region ?? null, created_by: caller.account_id,
    });
    return reply.code(201).send(project);
  });

  /** A project the caller collaborates on (admin: any); otherwise not_found. */
  async function visibleProject(request: FastifyRequest) {
    const { caller } = request;
    const { id } = parseOrThrow(z.strictObject({ id: Id }), request.params, 'path');
    const project = await projectGet(db, id);
    if (!project || !(await access.canUseScope(caller, { type: 'project', id }))) throw new NotFoundError(`project ${id}`);
    return { project, caller };
  }

  app.get('/v1/projects/:id', route.account, async (request) => {
    const { project } = await visibleProject(request);
    const fresh = project.last_backup !== null && (project.last_edited === null || project.last_backup >= project.last_edited);
    return { ...project, backup_fresh: fresh };
  });

  app.get('/v1/projects/:id/backups', route.account, async (request) => {
    const { project } = await visibleProject(request);
    return { backups: await backupsOfProject(db, project.project_id) };
  });

  app.post('/v1/projects/:id/collaborators', route.account, async (request) => {
    const { project, caller } = await visibleProject(request);
    const { account_id } = parseOrThrow(CollaboratorBody, request.body, 'request body');
    // The collaborators of a project placed on a host may run ops on that host: only its admin adds them.
    if (project.host_id && !(await access.isHostAdmin(caller, project.host_id))) {
      throw new ForbiddenError(`project ${project.project_id} is placed on a host: only that host's admin may add collaborators`);
    }
    if (!(await accountGet(db, account_id))) throw new NotFoundError(`account ${account_id}`);
    await collaboratorAdd(db, { project_id: project.project_id, account_id });
    return { project_id: project.project_id, account_id };
  });
}
