/**
 * `project-copy` (scope: the source project; run on the hub): the notes' Phase 3. Paths of the
 * source into a folder of each destination project — one child op per destination, rolled up into
 * one bar. A destination on the source's host gets a local copy (`cp -r --reflink=auto`, no
 * snapshot); the others share one snapshot of the paths (tagged `purpose=copy`) and a pending copy
 * each (`project_copies`), applied by the destination's host now when it runs, otherwise when it
 * starts (or before the project starts). The snapshot is forgotten once no pending copy needs it.
 */
import path from 'node:path';
import { z } from 'zod';
import { copyExpire, copyInsertMany, copyListByOp, type ProjectCopy } from '../domain/sql/copies.js';
import { hostGet } from '../domain/sql/hosts.js';
import { projectGet, projectListPlaced } from '../domain/sql/projects.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../lro/errors.js';
import type { KindDefinition } from '../lro/kinds.js';
import { PermanentError } from '../workers/abort.js';
import { runChildren, type ChildOps, type ChildRequest } from '../workers/children.js';
import { ProjectPath, forgetUnneeded } from './copy-host.js';
import { onHubFor, requireScope, type ProjectKindDeps } from './project-context.js';

const CopyInput = z.strictObject({
  paths: z.array(ProjectPath).min(1).max(100),
  dests: z
    .array(z.strictObject({ project_id: z.uuid({ message: 'must be a project id (uuid)' }), path: ProjectPath }))
    .min(1)
    .max(10_000),
  options: z
    .strictObject({ error_on_exist: z.boolean().optional(), force: z.boolean().optional() })
    .refine((o) => !(o.error_on_exist && o.force), 'choose error_on_exist (refuse) or force (overwrite), not both')
    .default({}),
});
type CopyInput = z.output<typeof CopyInput>;

const DestStatus = z.enum(['done', 'pending', 'failed']);
const CopyResult = z.strictObject({
  snapshot_id: z.string().nullable(),
  /** Each destination's state; a failed one says why. */
  dests: z.array(z.strictObject({ project_id: z.string(), path: z.string(), status: DestStatus, error: z.string().optional() })),
});

/** The source and each destination, checked: when the op is asked for, and again when it runs. */
async function plan(db: ProjectKindDeps['db'], sourceId: string, input: CopyInput) {
  const source = await projectGet(db, sourceId);
  if (!source) throw new NotFoundError(`project ${sourceId}`);
  if (!source.host_id) throw new ConflictError(`project ${sourceId} is on no host: nothing to copy from`);
  const found = new Map((await projectListPlaced(db, [...new Set(input.dests.map((d) => d.project_id))])).map((p) => [p.project_id, p]));
  const dests = input.dests.map((d) => {
    const dest = found.get(d.project_id);
    if (!dest) throw new NotFoundError(`project ${d.project_id} (a destination)`);
    if (!dest.host_id) throw new ConflictError(`project ${d.project_id} (a destination) is on no host`);
    if (dest.project_id === sourceId && input.paths.some((p) => d.path === p || d.path.startsWith(`${p}/`))) {
      throw new InvalidInputError(`a path cannot be copied into itself (${d.path} in project ${sourceId})`);
    }
    return dest;
  });
  return { source, dests };
}

export function projectCopyKind(deps: ProjectKindDeps & { children: ChildOps }): KindDefinition<CopyInput, z.output<typeof CopyResult>> {
  return {
    name: 'project-copy',
    input: CopyInput,
    result: CopyResult,
    timeoutS: 12 * 3600,
    // Writing into a project is for its collaborators: every destination, as the source.
    alsoActsOn: (input) => [...new Set(input.dests.map((d) => d.project_id))].map((id) => ({ type: 'project', id })),
    routing: async (input, scope) => {
      requireScope('project-copy', scope, 'project');
      await plan(deps.db, scope.id, input);
      return 'hub';
    },
    async run(ctx) {
      const { source, dests } = await plan(deps.db, ctx.op.scope_id, ctx.input);
      const found = (id: string) => dests.find((p) => p.project_id === id)!;
      const sourceHost = await hostGet(deps.db, source.host_id!);
      if (sourceHost?.status !== 'running') {
        throw new PermanentError(
          `the source's host ${source.host_id} is ${sourceHost?.status ?? 'gone'}: nothing can be copied from it now`,
          'host_off',
        );
      }
      const { paths, options } = ctx.input;
      const local = ctx.input.dests.filter((_, i) => dests[i]!.host_id === source.host_id);
      const remote = ctx.input.dests.filter((_, i) => dests[i]!.host_id !== source.host_id);
      const children: ChildRequest[] = local.map((d) => ({
        key: `local:${d.project_id}:${d.path}`,
        kind: 'project-copy-local',
        scope: { type: 'project', id: d.project_id },
        input: { src_project_id: source.project_id, paths, dest_path: d.path, options },
      }));
      let snapshotId: string | null = null;
      let copies: ProjectCopy[] = [];
      if (remote.length > 0) {
        const snap = (
          await runChildren(ctx, deps.children, 'snapshot', [
            { key: 'snapshot', kind: 'project-copy-snapshot', scope: { type: 'project', id: source.project_id }, input: { paths } },
          ])
        ).get('snapshot')!;
        if (snap.status !== 'succeeded')
          throw new PermanentError(`the copy snapshot ${snap.status}: ${snap.error?.message ?? ''}`, 'snapshot_failed');
        snapshotId = (snap.result as { snapshot_id: string }).snapshot_id;
        copies = await copyListByOp(deps.db, ctx.op.op_id); // made by an earlier attempt?
        if (copies.length === 0) {
          const rows = remote.flatMap((d) => paths.map((p) => ({ src_path: p, dest_project_id: d.project_id, dest_path: d.path })));
          const region = source.backup_region ?? sourceHost.region;
          copies = await copyInsertMany(deps.db, {
            op_id: ctx.op.op_id,
            src_project_id: source.project_id,
            region,
            snapshot_id: snapshotId,
            options,
            rows,
          });
        }
        // Each destination whose host runs applies its copies now; the others when their host starts.
        for (const destId of new Set(remote.map((d) => d.project_id))) {
          if (found(destId).host_status !== 'running') continue;
          children.push({ key: `apply:${destId}`, kind: 'project-copy-apply', scope: { type: 'project', id: destId } });
        }
      }
      const ended = children.length > 0 ? await runChildren(ctx, deps.children, 'copy', children) : new Map();
      await forgetUnneeded(deps, snapshotId ? [snapshotId] : [], ctx.signal);
      const rowsNow = new Map(
        (await copyListByOp(deps.db, ctx.op.op_id)).map((c) => [`${c.dest_project_id}:${c.dest_path}:${c.src_path}`, c]),
      );
      const stateOf = (d: { project_id: string; path: string }): { status: z.output<typeof DestStatus>; error?: string } => {
        const localOp = ended.get(`local:${d.project_id}:${d.path}`);
        if (localOp)
          return localOp.status === 'succeeded'
            ? { status: 'done' }
            : { status: 'failed', error: localOp.error?.message ?? localOp.status };
        const rows = paths.map((p) => rowsNow.get(`${d.project_id}:${d.path}:${p}`));
        const failed = rows.find((r) => r?.status === 'failed');
        if (failed) return { status: 'failed', error: failed.last_error ?? 'failed' };
        return { status: rows.every((r) => r?.status === 'done') ? 'done' : 'pending' };
      };
      const result = ctx.input.dests.map((d) => ({ project_id: d.project_id, path: path.posix.normalize(d.path), ...stateOf(d) }));
      const count = (s: string) => result.filter((r) => r.status === s).length;
      ctx.progress({ phase: 'copy', message: `${count('done')} done, ${count('pending')} pending (host off), ${count('failed')} failed` });
      return { snapshot_id: snapshotId, dests: result };
    },
  };
}

/**
 * `copies-expire` (scope: hub; on the hub, e.g. from a schedule): pending copies past their expiry
 * (7 days) end `expired`, and the snapshots no pending copy needs any more are forgotten.
 */
export function copiesExpireKind(
  deps: ProjectKindDeps,
): KindDefinition<Record<string, never>, { expired: number; snapshots_forgotten: number }> {
  return {
    name: 'copies-expire',
    input: z.strictObject({}),
    result: z.strictObject({ expired: z.int(), snapshots_forgotten: z.int() }),
    routing: onHubFor('copies-expire', 'hub'),
    async run(ctx) {
      const expired = await copyExpire(deps.db);
      ctx.progress({ phase: 'expire', message: `${expired.length} pending copies expired` });
      const forgotten = await forgetUnneeded(deps, [...new Set(expired.map((c) => c.snapshot_id))], ctx.signal);
      return { expired: expired.length, snapshots_forgotten: forgotten };
    },
  };
}
