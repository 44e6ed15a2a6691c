import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { forgetUnneeded } from '../../backup/copy-host.js';
import { copyFinish, copyGet, copyListPending } from '../../domain/sql/copies.js';
import { ConflictError, NotFoundError, UnavailableError } from '../../lro/errors.js';
import { parseOrThrow } from '../../lro/schemas.js';
import { Id, ProjectParams } from '../../domain/schemas.js';
import type { HubContext } from '../app.js';
import { route } from '../auth.js';
import { doc } from '../openapi.js';

const CopyParams = z.object({ copy_id: Id });

/** Pending copies between projects (project-copy): list a project's, cancel one. */
export function copyRoutes(app: FastifyInstance, ctx: HubContext) {
  const { access, lro } = ctx;

  app.get(
    '/v1/projects/:id/copies',
    doc(route.account, { summary: "A project's pending copies (to or from it)", params: ProjectParams }),
    async (request) => {
      const { id } = parseOrThrow(ProjectParams, request.params, 'path');
      if (!(await access.canUseScope(request.caller, { type: 'project', id }))) throw new NotFoundError(`project ${id}`);
      return { copies: await copyListPending(lro.db, { project_id: id, as: 'any' }) };
    },
  );

  // Collaborators of its source or its destination may cancel a pending copy; its snapshot goes when no copy needs it.
  app.post('/v1/copies/:copy_id/cancel', doc(route.account, { summary: 'Cancel a pending copy', params: CopyParams }), async (request) => {
    const { copy_id } = parseOrThrow(CopyParams, request.params, 'path');
    const copy = await copyGet(lro.db, copy_id);
    const mayUse = async (id: string) => access.canUseScope(request.caller, { type: 'project', id });
    if (!copy || !((await mayUse(copy.src_project_id)) || (await mayUse(copy.dest_project_id)))) throw new NotFoundError(`copy ${copy_id}`);
    if (!(await copyFinish(lro.db, { copy_id, status: 'canceled' })))
      throw new ConflictError(`copy ${copy_id} is ${copy.status}, not pending`);
    if (!lro.backups) throw new UnavailableError('backups are not configured on this hub (LRO_RESTIC_PASSWORD_FILE)');
    const forgotten = await forgetUnneeded({ db: lro.db, restic: lro.backups.restic, buckets: lro.backups.buckets }, [copy.snapshot_id]);
    return { ...(await copyGet(lro.db, copy_id)), snapshot_forgotten: forgotten > 0 };
  });
}
