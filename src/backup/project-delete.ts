/**
 * `project-delete` (scope: the project; run on the hub): the project gone for good — stopped,
 * its files removed from its host (`project-purge`, a child op there), every snapshot of it
 * forgotten in its region's bucket and the space pruned, then its record (collaborators and
 * backup rows with it). Each step a phase; run again, a step already done finds nothing to do.
 */
import { rm } from 'node:fs/promises';
import { z } from 'zod';
import { hostGet } from '../domain/sql/hosts.js';
import { projectDelete, projectGet } from '../domain/sql/projects.js';
import type { KindDefinition } from '../lro/kinds.js';
import { PermanentError } from '../workers/abort.js';
import { runChildren, type ChildOps } from '../workers/children.js';
import { projectKind, projectOf, onHubFor, type ProjectKindDeps } from './project-context.js';
import { projectSnapshots } from './restore.js';

const DeleteResult = z.strictObject({ snapshots_forgotten: z.int() });

export function projectDeleteKind(
  deps: ProjectKindDeps & { children: ChildOps },
): KindDefinition<Record<string, never>, z.output<typeof DeleteResult>> {
  return {
    name: 'project-delete',
    dedupeKey: 'delete', // one at a time per scope: a second create gets the one running
    input: z.strictObject({}),
    result: DeleteResult,
    timeoutS: 6 * 3600,
    routing: onHubFor('project-delete', 'project'),
    async run(ctx) {
      const projectId = ctx.op.scope_id;
      const project = await projectGet(deps.db, projectId);
      if (!project) return { snapshots_forgotten: 0 }; // deleted by an earlier attempt
      const host = project.host_id ? await hostGet(deps.db, project.host_id) : null;
      const child = async (key: string, kind: string) => {
        const op = (await runChildren(ctx, deps.children, key, [{ key, kind, scope: { type: 'project', id: projectId } }])).get(key)!;
        if (op.status !== 'succeeded')
          throw new PermanentError(`${kind} ${op.status}: ${op.error?.message ?? ''}: nothing deleted`, `${key}_failed`);
      };
      if (host?.status === 'running') {
        if (project.run_state === 'running') await child('stop', 'project-stop');
        await child('purge', 'project-purge');
      } else if (host) {
        ctx.progress({ phase: 'purge', message: `host ${host.name} is ${host.status}: its copy of the files stays until it is wiped` });
      }
      let forgotten = 0;
      const region = project.backup_region ?? (host ? host.region : null);
      if (region) {
        const bucket = await deps.buckets.of(region);
        const snapshots = await projectSnapshots(deps.restic, bucket, projectId, ctx.signal, { all: true });
        ctx.progress({ phase: 'backups', message: `forgetting ${snapshots.length} snapshots and pruning the bucket of region ${region}` });
        if (snapshots.length > 0) {
          await deps.restic.run(bucket, ['forget', '--prune', ...snapshots.map((s) => s.id)], { signal: ctx.signal });
        }
        forgotten = snapshots.length;
      }
      ctx.progress({ phase: 'record', message: 'deleting the project, its collaborators and its backup records' });
      await projectDelete(deps.db, projectId);
      return { snapshots_forgotten: forgotten };
    },
  };
}

/** `project-purge` (on the project's host): its folder under the data dir removed, both roots and all. */
export function projectPurgeKind(deps: ProjectKindDeps): KindDefinition<Record<string, never>, { removed: boolean }> {
  return projectKind(deps, {
    name: 'project-purge',
    input: z.strictObject({}),
    result: z.strictObject({ removed: z.boolean() }),
    async run(ctx) {
      const p = await projectOf(deps, ctx);
      ctx.progress({ phase: 'purge', message: `removing ${p.dir}` });
      await rm(p.dir, { recursive: true, force: true });
      return { removed: true };
    },
  });
}
