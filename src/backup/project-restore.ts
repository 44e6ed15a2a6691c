/**
 * `project-restore`: the newest snapshot of a project, or a given one; all of it or one path inside
 * it; in place or into a folder inside the project (see restore.ts: staged, then moved into place).
 */
import { z } from 'zod';
import { projectTouch } from '../domain/sql/projects.js';
import type { KindDefinition } from '../lro/kinds.js';
import { RelativePath } from './files.js';
import { projectKind, projectOf, type ProjectKindDeps } from './project-context.js';
import { findSnapshot, restoreSnapshot } from './restore.js';

const RestoreInput = z.strictObject({
  /** A snapshot id or a prefix of one (at least 8 hex digits); default: the newest. */
  snapshot_id: z
    .string()
    .regex(/^[0-9a-f]{8,64}$/, 'must be a snapshot id: 8 to 64 hex digits')
    .optional(),
  /** Inside the snapshot, e.g. `project/src`; default: all of it. */
  path: RelativePath.default(''),
  /** A folder inside the project's data to restore into, e.g. `project/restored`; default: in place. */
  target: RelativePath.optional(),
});
const RestoreResult = z.strictObject({ snapshot_id: z.string(), files: z.int(), bytes: z.int() });

export function projectRestoreKind(deps: ProjectKindDeps): KindDefinition<z.output<typeof RestoreInput>, z.output<typeof RestoreResult>> {
  return projectKind(deps, {
    name: 'project-restore',
    input: RestoreInput,
    result: RestoreResult,
    async run(ctx) {
      const p = await projectOf(deps, ctx);
      await p.writable();
      const bucket = await p.bucket();
      const snapshot = await findSnapshot(deps.restic, bucket, p.projectId, ctx.input.snapshot_id, ctx.signal);
      ctx.progress({
        phase: 'restore',
        message: `restoring snapshot ${snapshot.short_id}${ctx.input.path ? ` path ${ctx.input.path}` : ''}`,
      });
      const done = await restoreSnapshot(deps.restic, bucket, {
        projectDir: p.dir,
        snapshot,
        path: ctx.input.path,
        ...(ctx.input.target === undefined ? {} : { target: ctx.input.target }),
        signal: ctx.signal,
        progress: ctx.progress,
      });
      await projectTouch(deps.db, p.projectId); // the project's files changed: its last backup no longer holds them
      return { snapshot_id: snapshot.id, ...done };
    },
  });
}
