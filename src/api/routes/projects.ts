import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RelativePath } from '../../backup/files.js';
import { ResticError } from '../../backup/restic.js';
import { CollaboratorBody, Id, ProjectBody, ProjectParams } from '../../domain/schemas.js';
import { ForbiddenError, LroError, NotFoundError, UnavailableError } from '../../lro/errors.js';
import { parseOrThrow, text } from '../../lro/schemas.js';
import type { HubContext } from '../app.js';
import { route } from '../auth.js';
import { doc } from '../openapi.js';

const SnapshotParams = z.object({ snapshot_id: z.string().regex(/^[0-9a-f]{8,64}$/, 'must be a snapshot id: 8 to 64 hex digits') });
const TreeParams = z.object({ id: Id, snapshot_id: SnapshotParams.shape.snapshot_id });
const TreeQuery = z.strictObject({ path: RelativePath.default('') });
const ListQuery = z.strictObject({
  q: text({ min: 1, max: 200 }).optional(),
  /** Comma-separated project ids (the page's titles for the scopes it shows). */
  ids: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(Id).max(200, 'at most 200 ids'))
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const ProjectPatch = z.strictObject({ backup_region: text({ min: 1, max: 100 }) });

/** restic's answer at the boundary: an unknown snapshot or folder is a 404, a bucket that fails a 503. */
async function fromRestic<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ResticError)) throw err;
    if (err.code === 'snapshot_not_found') throw new LroError('not_found', err.message); // already says what is missing
    throw new UnavailableError(`the backup bucket could not be read (${err.code})`);
  }
}

/** Projects, their collaborators and their backups, as their collaborators (and the admin) see them. */
export function projectRoutes(app: FastifyInstance, ctx: HubContext) {
  const { access, hosts, projects } = ctx;

  app.post(
    '/v1/projects',
    doc(route.account, { summary: 'A project; the caller is its first collaborator', body: ProjectBody, status: 201 }),
    async (request, reply) => {
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
    },
  );

  /** A project the caller collaborates on (admin: any); otherwise not_found. */
  async function visibleProject(request: FastifyRequest) {
    const { id } = parseOrThrow(ProjectParams, request.params, 'path');
    const project = await projects.find(id);
    if (!project || !(await access.canUseScope(request.caller, { type: 'project', id }))) throw new NotFoundError(`project ${id}`);
    return project;
  }

  app.get(
    '/v1/projects',
    doc(route.account, { summary: "The caller's projects (the admin: all), by title or ids", query: ListQuery }),
    async (request) => {
      const query = parseOrThrow(ListQuery, request.query, 'query');
      return { projects: await projects.list({ ...query, account_id: request.caller.account_id }) };
    },
  );

  // The project with its host (name, status, region) and its collaborators: what its page shows.
  app.get(
    '/v1/projects/:id',
    doc(route.account, { summary: 'A project with its host, backup status and collaborators', params: ProjectParams }),
    async (request) => {
      const project = await visibleProject(request);
      const host = project.host_id ? await hosts.find(project.host_id) : null;
      return {
        ...project,
        host: host && { host_id: host.host_id, name: host.name, status: host.status, region: host.region },
        collaborators: await projects.collaborators(project.project_id),
      };
    },
  );

  // The backup region, while the project has no backup (then it stays where its snapshots are).
  app.patch(
    '/v1/projects/:id',
    doc(route.account, { summary: 'Set the backup region (until the first backup)', params: ProjectParams, body: ProjectPatch }),
    async (request) => {
      const project = await visibleProject(request);
      const { backup_region } = parseOrThrow(ProjectPatch, request.body, 'request body');
      return projects.setBackupRegion({ project_id: project.project_id, backup_region });
    },
  );

  app.get(
    '/v1/projects/:id/backups',
    doc(route.account, { summary: "A project's snapshots, newest first", params: ProjectParams }),
    async (request) => {
      const project = await visibleProject(request);
      return { backups: await projects.backups(project.project_id) };
    },
  );

  // One folder of a snapshot: `path` inside it ('' the root: `project/`, `persist/`). The snapshot's
  // listing is one restic call, kept per snapshot (src/backup/browse.ts), so browsing deeper is free.
  app.get(
    '/v1/projects/:id/backups/:snapshot_id/tree',
    doc(route.account, { summary: 'One folder of a snapshot', params: TreeParams, query: TreeQuery }),
    async (request) => {
      const project = await visibleProject(request);
      const { snapshot_id } = parseOrThrow(SnapshotParams, request.params, 'path');
      const { path } = parseOrThrow(TreeQuery, request.query, 'query');
      const backups = ctx.lro.backups;
      if (!backups || !project.backup_region)
        throw new UnavailableError('backups are not configured on this hub (LRO_RESTIC_PASSWORD_FILE)');
      const { snapshot, entries } = await fromRestic(() =>
        backups.browser.folder(project.project_id, project.backup_region!, snapshot_id, path),
      );
      return { snapshot_id: snapshot.id, time: snapshot.time, path, entries };
    },
  );

  app.post(
    '/v1/projects/:id/collaborators',
    doc(route.account, { summary: 'Add a collaborator', params: ProjectParams, body: CollaboratorBody }),
    async (request) => {
      const project = await visibleProject(request);
      const { account_id } = parseOrThrow(CollaboratorBody, request.body, 'request body');
      // The collaborators of a project placed on a host may run ops on that host: only its admin adds them.
      if (project.host_id && !(await access.isHostAdmin(request.caller, project.host_id))) {
        throw new ForbiddenError(`project ${project.project_id} is placed on a host: only that host's admin may add collaborators`);
      }
      await projects.addCollaborator({ project_id: project.project_id, account_id });
      return { project_id: project.project_id, account_id };
    },
  );
}
