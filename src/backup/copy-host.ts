/**
 * The host's part of `project-copy`: the source's copy snapshot (its paths only, tagged
 * `purpose=copy`), a destination's pending copies applied (restored into a folder inside the
 * project, then renamed into place), and a copy between two projects of one host (`cp -r
 * --reflink=auto`, no snapshot). Each honours `error_on_exist` (a path already there fails that
 * copy) and `force` (it is replaced); otherwise a folder already there is merged into, like `cp -r`.
 */
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import {
  copyAttemptFailed,
  copyDestsOnHost,
  copyFinish,
  copySnapshotsForgotten,
  copyListPending,
  copySnapshotsUnneeded,
  type ProjectCopy,
} from '../domain/sql/copies.js';
import { projectTouch } from '../domain/sql/projects.js';
import type { HandlerContext, KindDefinition } from '../lro/kinds.js';
import { PermanentError } from '../workers/abort.js';
import { RelativePath, confined, replaceWith } from './files.js';
import { projectKind, projectOf, resticBackup, type ProjectKindDeps } from './project-context.js';
import { restoreSnapshot } from './restore.js';
import type { Bucket } from './restic.js';

/** A path inside a project's data: a RelativePath under `project/` or `persist/`. */
export const ProjectPath = RelativePath.refine(
  (p) => /^(project|persist)(\/|$)/.test(p),
  'must be inside project/ or persist/ (e.g. project/handout)',
);

export type CopyOptions = { error_on_exist?: boolean; force?: boolean };

const exists = async (p: string) => (await lstat(p).catch(() => null)) !== null;

/**
 * Puts `from` (a file or folder, on this file system) at `to` (`shown`: that path inside its project,
 * as errors name it — never the host's folders): renamed there, merged into a folder already there
 * (`cp -a --reflink=auto`), or refused/replaced as the options say.
 */
async function place(from: string, to: string, shown: string, options: CopyOptions): Promise<void> {
  if (await exists(to)) {
    if (options.error_on_exist) throw new PermanentError(`${shown} already exists in the project (error_on_exist)`, 'exists');
    if (!options.force && (await lstat(to)).isDirectory() && (await lstat(from)).isDirectory()) {
      await execa('cp', ['-a', '--reflink=auto', `${from}/.`, to]);
      return;
    }
  }
  await replaceWith(from, to);
}

/** `project-copy-snapshot` (on the source's host): its paths into one snapshot tagged `purpose=copy`. */
export function copySnapshotKind(deps: ProjectKindDeps): KindDefinition<{ paths: string[] }, { snapshot_id: string }> {
  return projectKind(deps, {
    name: 'project-copy-snapshot',
    input: z.strictObject({ paths: z.array(ProjectPath).min(1).max(100) }),
    result: z.strictObject({ snapshot_id: z.string() }),
    async run(ctx) {
      const p = await projectOf(deps, ctx);
      for (const rel of ctx.input.paths) {
        if (!(await exists(await confined(p.dir, rel))))
          throw new PermanentError(`project ${p.projectId} has no ${rel} on its host`, 'no_such_path');
      }
      ctx.progress({ phase: 'snapshot', message: `taking a copy snapshot of ${ctx.input.paths.join(', ')}` });
      const tags = [`project=${p.projectId}`, 'purpose=copy'];
      const { snapshot_id: id } = await resticBackup(deps, ctx, p, { phase: 'snapshot', tags, paths: ctx.input.paths });
      return { snapshot_id: id };
    },
  });
}

const LocalInput = z.strictObject({
  src_project_id: z.uuid(),
  paths: z.array(ProjectPath).min(1).max(100),
  dest_path: ProjectPath,
  options: z.strictObject({ error_on_exist: z.boolean().optional(), force: z.boolean().optional() }).default({}),
});

/**
 * Files copied into a project: both its roots exist from now on (a project never started that got a
 * copy is whole, so it can be backed up — else host-off would leave the copy only on an off host),
 * and `last_edited` is now (its last backup no longer holds them).
 */
async function landed(deps: ProjectKindDeps, dest: { projectId: string; roots: readonly string[] }): Promise<void> {
  for (const root of dest.roots) await mkdir(root, { recursive: true });
  await projectTouch(deps.db, dest.projectId);
}

/** `project-copy-local` (scope: the destination; on its host, which is the source's too): `cp -r --reflink=auto`. */
export function copyLocalKind(deps: ProjectKindDeps): KindDefinition<z.output<typeof LocalInput>, { copied: number }> {
  return projectKind(deps, {
    name: 'project-copy-local',
    input: LocalInput,
    result: z.strictObject({ copied: z.int() }),
    async run(ctx) {
      const dest = await projectOf(deps, ctx);
      const srcDir = path.join(path.dirname(dest.dir), ctx.input.src_project_id);
      const staging = path.join(dest.dir, `.lro-copy-${randomUUID().slice(0, 8)}`);
      try {
        for (const [i, rel] of ctx.input.paths.entries()) {
          ctx.progress({
            phase: 'copy',
            message: `copying ${rel}`,
            progress: { current: i, total: ctx.input.paths.length, unit: 'paths' },
          });
          const from = await confined(srcDir, rel);
          if (!(await exists(from))) throw new PermanentError(`project ${ctx.input.src_project_id} has no ${rel}`, 'no_such_path');
          await mkdir(staging, { recursive: true });
          const staged = path.join(staging, path.basename(rel));
          await execa('cp', ['-a', '--reflink=auto', from, staged]);
          const shown = path.join(ctx.input.dest_path, path.basename(rel));
          await place(staged, await confined(dest.dir, shown), shown, ctx.input.options);
        }
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
      await landed(deps, dest);
      ctx.progress({ phase: 'copy', progress: { current: ctx.input.paths.length, total: ctx.input.paths.length, unit: 'paths' } });
      return { copied: ctx.input.paths.length };
    },
  });
}

/**
 * A destination's pending copies applied on its host, each restored from its snapshot into a folder
 * inside the project and put in place; each ends `done`, or `failed` when another try cannot help
 * (a path already there with `error_on_exist`), or stays pending with its error. Snapshots no copy
 * needs any more are forgotten. Returns how each went.
 */
export async function applyPendingCopies(
  deps: ProjectKindDeps,
  ctx: HandlerContext<unknown>,
): Promise<{ copy: ProjectCopy; outcome: 'done' | 'failed' | 'pending' }[]> {
  const dest = await projectOf(deps, ctx);
  const pending = await copyListPending(deps.db, { project_id: dest.projectId, as: 'dest' });
  if (pending.length === 0) return [];
  const outcomes: { copy: ProjectCopy; outcome: 'done' | 'failed' | 'pending' }[] = [];
  for (const [i, c] of pending.entries()) {
    ctx.progress({
      phase: 'copy',
      message: `copying ${c.src_path} to ${c.dest_path}`,
      progress: { current: i, total: pending.length, unit: 'copies' },
    });
    const staging = `.lro-copy-${randomUUID().slice(0, 8)}`;
    try {
      const bucket: Bucket = await deps.buckets.of(c.region);
      const snapshot = { id: c.snapshot_id, short_id: c.snapshot_id.slice(0, 8), time: '', tags: [] };
      await restoreSnapshot(deps.restic, bucket, { projectDir: dest.dir, snapshot, path: c.src_path, target: staging, signal: ctx.signal });
      const shown = path.join(c.dest_path, path.basename(c.src_path));
      await place(path.join(dest.dir, staging, path.basename(c.src_path)), await confined(dest.dir, shown), shown, c.options);
      await copyFinish(deps.db, { copy_id: c.copy_id, status: 'done' });
      outcomes.push({ copy: c, outcome: 'done' });
    } catch (err) {
      const message = (err as Error).message;
      const permanent = err instanceof PermanentError;
      if (permanent) await copyFinish(deps.db, { copy_id: c.copy_id, status: 'failed', error: message });
      else await copyAttemptFailed(deps.db, { copy_id: c.copy_id, error: message });
      outcomes.push({ copy: c, outcome: permanent ? 'failed' : 'pending' });
    } finally {
      await rm(path.join(dest.dir, staging), { recursive: true, force: true });
    }
  }
  if (outcomes.some((o) => o.outcome === 'done')) await landed(deps, dest);
  ctx.progress({ phase: 'copy', progress: { current: pending.length, total: pending.length, unit: 'copies' } });
  await forgetUnneeded(deps, [...new Set(pending.map((c) => c.snapshot_id))], ctx.signal);
  return outcomes;
}

/** The copy snapshots among `ids` that no pending copy needs any more, forgotten (and pruned). */
export async function forgetUnneeded(deps: ProjectKindDeps, ids: string[], signal?: AbortSignal): Promise<number> {
  const unneeded = await copySnapshotsUnneeded(deps.db, ids);
  for (const region of new Set(unneeded.map((u) => u.region))) {
    const snapshots = unneeded.filter((u) => u.region === region).map((u) => u.snapshot_id);
    await deps.restic.run(await deps.buckets.of(region), ['forget', '--prune', ...snapshots], { signal });
    await copySnapshotsForgotten(deps.db, snapshots);
  }
  return unneeded.length;
}

/** `project-copy-apply` (scope: a destination; on its host): its pending copies applied now. */
export function copyApplyKind(
  deps: ProjectKindDeps,
): KindDefinition<Record<string, never>, { applied: number; failed: number; pending: number }> {
  return projectKind(deps, {
    name: 'project-copy-apply',
    input: z.strictObject({}),
    result: z.strictObject({ applied: z.int(), failed: z.int(), pending: z.int() }),
    async run(ctx) {
      const outcomes = await applyPendingCopies(deps, ctx);
      const count = (o: string) => outcomes.filter((x) => x.outcome === o).length;
      return { applied: count('done'), failed: count('failed'), pending: count('pending') };
    },
  });
}

/** On a host's start: a `project-copy-apply` op for each of its projects with copies pending (made while it was off). */
export async function queueCopiesForHost(
  db: ProjectKindDeps['db'],
  createMany: (requests: unknown[]) => Promise<string[]>,
  hostId: string,
): Promise<number> {
  const dests = await copyDestsOnHost(db, hostId);
  if (dests.length === 0) return 0;
  return (await createMany(dests.map((id) => ({ kind: 'project-copy-apply', scope: { type: 'project', id }, dedupe_key: 'copy-apply' }))))
    .length;
}
