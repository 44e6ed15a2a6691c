/**
 * `project-backup`: a project's two roots, `project/` and `persist/`, into its backup region's
 * bucket as one restic snapshot (layout v2), run on the project's host. Progress comes from
 * restic's `--json` status lines; the snapshot is recorded in `project_backups` and the project's
 * `last_backup` moves to when the backup started.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { z } from 'zod';
import type { Buckets } from './buckets.js';
import { ResticError, type Restic } from './restic.js';
import { backupRecord } from '../domain/sql/backups.js';
import { projectHostOf } from '../domain/sql/projects.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../lro/errors.js';
import type { HandlerContext, HostEnv, KindDefinition } from '../lro/kinds.js';
import type { Scope } from '../shared/operation.js';
import { PermanentError } from '../workers/abort.js';

/** The snapshot layout: `/project` and `/persist` at the root of the tree. */
export const LAYOUT_TAG = 'layout=v2';
export const ROOTS = ['project', 'persist'] as const;

export interface ProjectKindDeps {
  db: pg.Pool;
  restic: Restic;
  buckets: Buckets;
}

/** Where a project's data lives on its host. */
export const projectDir = (host: HostEnv, projectId: string) => path.join(host.dataDir, 'projects', projectId);

/** A project op runs on the project's host: `host:<host_id>`. */
export async function projectRouting(db: pg.Pool, scope: Scope): Promise<string> {
  if (scope.type !== 'project') throw new InvalidInputError(`this kind acts on a project: scope must be {type: "project", id}`);
  const p = await projectHostOf(db, scope.id);
  if (!p) throw new NotFoundError(`project ${scope.id}`);
  if (!p.host_id) throw new ConflictError(`project ${scope.id} is on no host; place it on one first`);
  return `host:${p.host_id}`;
}

/** The host running a project op, or a permanent failure (a project op claimed by a pool that is no host's). */
export function requireHost(ctx: HandlerContext<unknown>): HostEnv {
  if (!ctx.host) throw new PermanentError(`${ctx.op.kind} runs on a host: this worker has no data dir`, 'no_host');
  return ctx.host;
}

/** restic's failure as the op's: permanent where another attempt cannot help. */
export function asOpError(err: unknown): unknown {
  return err instanceof ResticError && !err.retryable && err.code !== 'canceled' ? new PermanentError(err.message, err.code) : err;
}

const BackupResult = z.strictObject({ snapshot_id: z.string(), bytes_added: z.int(), files: z.int(), duration_s: z.number() });

export function projectBackupKind(deps: ProjectKindDeps): KindDefinition<Record<string, never>, z.output<typeof BackupResult>> {
  return {
    name: 'project-backup',
    input: z.strictObject({}),
    result: BackupResult,
    routing: (_input, scope) => projectRouting(deps.db, scope),
    timeoutS: 6 * 3600,
    async run(ctx) {
      const host = requireHost(ctx);
      const projectId = ctx.op.scope_id;
      const project = await projectHostOf(deps.db, projectId);
      if (!project) throw new PermanentError(`project ${projectId} no longer exists`, 'not_found');
      if (!project.backup_region) throw new PermanentError(`project ${projectId} has no backup region`, 'no_backup_region');
      const dir = projectDir(host, projectId);
      // A backup of roots that are not there would record an empty project: refused, never taken.
      for (const root of ROOTS) {
        if (!(await stat(path.join(dir, root)).catch(() => null))?.isDirectory()) {
          throw new PermanentError(`project ${projectId} has no ${root}/ on this host (${dir}): nothing to back up`, 'no_data');
        }
      }
      const { rows } = await deps.db.query<{ now: Date }>('SELECT now()');
      const startedAt = rows[0]!.now;
      ctx.progress({ phase: 'backup', message: `backing up to region ${project.backup_region}` });
      const bucket = await deps.buckets.of(project.backup_region).catch((err: unknown) => Promise.reject(asOpError(err)));
      let summary: Record<string, unknown> | undefined;
      const tags = [`project=${projectId}`, LAYOUT_TAG];
      await deps.restic
        .run(bucket, ['backup', '--json', '--host', `project-${projectId}`, ...tags.flatMap((t) => ['--tag', t]), ...ROOTS], {
          cwd: dir,
          signal: ctx.signal,
          onJson: (m) => {
            if (m.message_type === 'summary') summary = m;
            if (m.message_type !== 'status' || typeof m.total_bytes !== 'number') return;
            ctx.progress({
              phase: 'backup',
              progress: { current: Number(m.bytes_done ?? 0), total: m.total_bytes, unit: 'bytes' },
              detail: { files_done: Number(m.files_done ?? 0), total_files: Number(m.total_files ?? 0) },
            });
          },
        })
        .catch((err: unknown) => Promise.reject(asOpError(err)));
      if (!summary?.snapshot_id) throw new Error('restic ended without naming the snapshot it took');
      const result = {
        snapshot_id: String(summary.snapshot_id),
        bytes_added: Number(summary.data_added ?? 0),
        files: Number(summary.total_files_processed ?? 0),
        duration_s: Number(summary.total_duration ?? 0),
      };
      await backupRecord(deps.db, {
        project_id: projectId,
        snapshot_id: result.snapshot_id,
        region: project.backup_region,
        tags,
        bytes: Number(summary.total_bytes_processed ?? 0),
        op_id: ctx.op.op_id,
        started_at: startedAt,
      });
      return result;
    },
  };
}
