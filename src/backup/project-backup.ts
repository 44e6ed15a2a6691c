/**
 * `project-backup`: a project's two roots, `project/` and `persist/`, into its backup region's
 * bucket as one restic snapshot (layout v2), run on the project's host. Progress comes from
 * restic's `--json` status lines; the snapshot is recorded in `project_backups` and the project's
 * `last_backup` moves to when the backup started.
 */
import { z } from 'zod';
import { backupRecord } from '../domain/sql/backups.js';
import { projectEdited } from '../domain/sql/projects.js';
import type { KindDefinition } from '../lro/kinds.js';
import { PermanentError } from '../workers/abort.js';
import { isDir } from './files.js';
import { ROOTS, projectTags } from './layout.js';
import { briefly, projectKind, projectOf, resticBackup, type ProjectKindDeps } from './project-context.js';

const BackupResult = z.strictObject({ snapshot_id: z.string(), bytes_added: z.int(), files: z.int(), duration_s: z.number() });

export function projectBackupKind(deps: ProjectKindDeps): KindDefinition<Record<string, never>, z.output<typeof BackupResult>> {
  return projectKind(deps, {
    name: 'project-backup',
    input: z.strictObject({}),
    result: BackupResult,
    async run(ctx) {
      const p = await projectOf(deps, ctx);
      // A backup of roots that are not there would record an empty project: refused, never taken.
      for (const [i, root] of ROOTS.entries()) {
        if (!(await isDir(p.roots[i]!))) {
          throw new PermanentError(`project ${p.projectId} has no ${root}/ on this host (${p.dir}): nothing to back up`, 'no_data');
        }
      }
      const { rows } = await deps.db.query<{ now: Date }>('SELECT now()');
      const startedAt = rows[0]!.now;
      // Whatever changed in the roots up to now (written through any path) is what this backup
      // covers: last_edited learns it first, so freshness compares the two honestly.
      await briefly(ctx, 'scan', 'looking for changes', async () =>
        projectEdited(deps.db, { project_id: p.projectId, edited: await p.unseenChange() }),
      );
      ctx.progress({ phase: 'backup', message: `backing up to region ${p.region}` });
      const tags = projectTags(p.projectId);
      const summary = await resticBackup(deps, ctx, p, { phase: 'backup', tags, paths: ROOTS });
      // restic's last status line may come before its last bytes (84 % in one run): the bar ends full.
      const bytes = Number(summary.total_bytes_processed ?? 0);
      const files = Number(summary.total_files_processed ?? 0);
      ctx.progress({
        phase: 'backup',
        progress: { current: bytes, total: bytes, unit: 'bytes' },
        detail: { files_done: files, total_files: files },
      });
      const result = {
        snapshot_id: summary.snapshot_id,
        bytes_added: Number(summary.data_added ?? 0),
        files,
        duration_s: Number(summary.total_duration ?? 0),
      };
      await backupRecord(deps.db, {
        project_id: p.projectId,
        snapshot_id: result.snapshot_id,
        region: p.region,
        tags,
        bytes,
        op_id: ctx.op.op_id,
        started_at: startedAt,
      });
      return result;
    },
  });
}
