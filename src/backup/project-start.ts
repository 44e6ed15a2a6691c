/**
 * `project-start` and `project-stop`, the project's boot log as phases on the op's stream.
 *
 * Start with `restore: auto` restores a root that is missing from the newest backup first
 * (restore-on-missing), on whichever host of the region runs it, whatever its data dir. A project
 * with no backup and no data starts empty; one whose roots are missing while a backup is recorded
 * never starts empty: if the bucket cannot show that backup, the start fails instead. `always`
 * restores both roots from the newest backup; `never` starts with what is there.
 *
 * Stop records `last_edited` from the roots' newest modification (files written straight into
 * them count), so a backup's freshness can be trusted.
 */
import { mkdir } from 'node:fs/promises';
import { z } from 'zod';
import { backupLatest } from '../domain/sql/backups.js';
import { projectHasBackup, projectSetRunState } from '../domain/sql/projects.js';
import type { KindDefinition } from '../lro/kinds.js';
import { PermanentError } from '../workers/abort.js';
import { applyPendingCopies } from './copy-host.js';
import { isDir } from './files.js';
import { ROOTS } from './layout.js';
import { briefly, projectKind, projectOf, type ProjectKindDeps } from './project-context.js';
import { findSnapshot, restoreSnapshot, type Snapshot } from './restore.js';
import { ResticError } from './restic.js';

const StartInput = z.strictObject({ restore: z.enum(['auto', 'always', 'never']).default('auto') });
const StartResult = z.strictObject({ restored: z.boolean(), snapshot_id: z.string().optional() });

const backupMissing = (projectId: string) =>
  new PermanentError(`a backup of project ${projectId} is recorded but its bucket does not have it: not starting empty`, 'backup_missing');

export function projectStartKind(deps: ProjectKindDeps): KindDefinition<z.output<typeof StartInput>, z.output<typeof StartResult>> {
  return projectKind(deps, {
    name: 'project-start',
    input: StartInput,
    result: StartResult,
    async run(ctx) {
      const p = await projectOf(deps, ctx);
      await p.writable();
      const mode = ctx.input.restore;
      const missing = await briefly(ctx, 'check', 'looking for the project on this host', async () => {
        const gone: string[] = [];
        for (const [i, root] of ROOTS.entries()) if (!(await isDir(p.roots[i]!))) gone.push(root);
        return gone;
      });
      if (missing.length) ctx.progress({ phase: 'check', message: `missing on this host: ${missing.join(', ')}` });
      const wanted = mode === 'always' ? [...ROOTS] : mode === 'auto' ? missing : [];
      let snapshot: Snapshot | null = null;
      if (wanted.length > 0) {
        const bucket = await p.bucket();
        // The newest backup this hub recorded, else whatever the bucket holds (taken elsewhere).
        const recorded = await backupLatest(deps.db, { project_id: p.projectId, region: p.region });
        snapshot = recorded
          ? {
              id: recorded.snapshot_id,
              short_id: recorded.snapshot_id.slice(0, 8),
              time: recorded.created_at.toISOString(),
              tags: recorded.tags,
            }
          : await findSnapshot(deps.restic, bucket, p.projectId, undefined, ctx.signal).catch(async (err: unknown) => {
              // No backup at all: auto starts empty, unless one was recorded (then the bucket is wrong, not empty).
              if (!(err instanceof ResticError && err.code === 'snapshot_not_found') || mode === 'always') throw err;
              if (await projectHasBackup(deps.db, p.projectId)) throw backupMissing(p.projectId);
              return null;
            });
        // Both roots: the whole snapshot in one restic call; one root: that path alone.
        const paths = wanted.length === ROOTS.length ? [''] : wanted;
        for (const root of snapshot ? paths : []) {
          ctx.progress({
            phase: 'restore',
            message: `restoring ${root ? `${root}/` : 'the project'} from snapshot ${snapshot!.short_id}`,
          });
          await restoreSnapshot(deps.restic, bucket, {
            projectDir: p.dir,
            snapshot: snapshot!,
            path: root,
            knownBytes: root === '' ? recorded?.bytes : null,
            signal: ctx.signal,
            progress: ctx.progress,
          }).catch((err: unknown) => {
            // A recorded snapshot the bucket does not have: the bucket is wrong, never a reason to start empty.
            throw recorded && err instanceof ResticError && err.code === 'snapshot_not_found' ? backupMissing(p.projectId) : err;
          });
        }
      }
      // Copies made while its host was off land before the project runs.
      await applyPendingCopies(deps, ctx);
      await briefly(ctx, 'start', snapshot ? `starting (restored from ${snapshot.short_id})` : 'starting', async () => {
        for (const dir of p.roots) await mkdir(dir, { recursive: true });
        await projectSetRunState(deps.db, { project_id: p.projectId, run_state: 'running' });
      });
      return { restored: snapshot !== null, ...(snapshot ? { snapshot_id: snapshot.id } : {}) };
    },
  });
}

const StopResult = z.strictObject({ last_edited: z.string().nullable() });

export function projectStopKind(deps: ProjectKindDeps): KindDefinition<Record<string, never>, z.output<typeof StopResult>> {
  return projectKind(deps, {
    name: 'project-stop',
    input: z.strictObject({}),
    result: StopResult,
    async run(ctx) {
      const p = await projectOf(deps, ctx);
      const edited = await briefly(ctx, 'scan', 'looking for changes', () => p.unseenChange());
      const { last_edited } = await briefly(ctx, 'stop', 'stopping', () =>
        projectSetRunState(deps.db, { project_id: p.projectId, run_state: 'stopped', edited }),
      );
      return { last_edited: last_edited?.toISOString() ?? null };
    },
  });
}
