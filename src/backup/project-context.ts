/** What every project kind shares: where it runs, the project it acts on, how restic's errors become the op's. */
import path from 'node:path';
import type pg from 'pg';
import { projectHostOf } from '../domain/sql/projects.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../lro/errors.js';
import type { HandlerContext, HostEnv, KindDefinition } from '../lro/kinds.js';
import type { Scope } from '../shared/operation.js';
import { PermanentError } from '../workers/abort.js';
import type { Buckets } from './buckets.js';
import { assertWritable, unseenChange } from './files.js';
import { ROOTS, projectDir } from './layout.js';
import { ResticError, type Bucket, type Restic } from './restic.js';

export interface ProjectKindDeps {
  db: pg.Pool;
  restic: Restic;
  buckets: Buckets;
}

/** The scope a kind acts on, or 400 naming it (the hub kinds' routing checks this first). */
export function requireScope(kind: string, scope: Scope, type: 'hub' | 'host' | 'project'): void {
  if (scope.type !== type)
    throw new InvalidInputError(`${kind} acts on a ${type}: scope must be {type: "${type}"${type === 'hub' ? '' : ', id'}}`);
}

/** The routing of a hub kind acting on one type of scope: checks the scope, runs on the hub. */
export const onHubFor =
  (kind: string, type: 'hub' | 'host' | 'project') =>
  (_input: unknown, scope: Scope): string => {
    requireScope(kind, scope, type);
    return 'hub';
  };

/** A project op runs on the project's host: `host:<host_id>`. */
export async function projectRouting(db: pg.Pool, scope: Scope): Promise<string> {
  requireScope('this kind', scope, 'project');
  const p = await projectHostOf(db, scope.id);
  if (!p) throw new NotFoundError(`project ${scope.id}`);
  if (!p.host_id) throw new ConflictError(`project ${scope.id} is on no host; place it on one first`);
  // An op for a host that is off would wait unseen until it comes back: said now, nothing queued.
  if (p.host_status !== 'running') {
    throw new ConflictError(
      `project ${scope.id} is on host ${p.host_id}, which is ${p.host_status}: start that host (lro host --id ${p.host_id}) first`,
      {
        reason: 'host_off',
        host_id: p.host_id,
      },
    );
  }
  return `host:${p.host_id}`;
}

/** The host running a project op, or a permanent failure (a project op claimed by a pool that is no host's). */
export function requireHost(ctx: HandlerContext<unknown>): HostEnv {
  if (!ctx.host) throw new PermanentError(`${ctx.op.kind} runs on a host: this worker has no data dir`, 'no_host');
  return ctx.host;
}

/** The file system's refusals that another attempt cannot mend, as the op's error codes. */
const FS_REFUSALS: Record<string, string> = { EACCES: 'not_writable', EPERM: 'not_writable', EROFS: 'not_writable', ENOSPC: 'no_space' };

/** restic's failure, or the file system's, as the op's: permanent where another attempt cannot help. */
export function asOpError(err: unknown): unknown {
  if (err instanceof ResticError) return !err.retryable && err.code !== 'canceled' ? new PermanentError(err.message, err.code) : err;
  const { code, syscall, path: where } = err as NodeJS.ErrnoException;
  const as = code ? FS_REFUSALS[code] : undefined;
  if (!as) return err;
  return new PermanentError(
    `the host cannot ${syscall === 'access' ? 'write' : (syscall ?? 'write')} ${where ?? 'its data dir'}: ${code}`,
    as,
  );
}

/** The project a running project op acts on: its host's data folder, its backup region and bucket. */
export async function projectOf(deps: ProjectKindDeps, ctx: HandlerContext<unknown>) {
  const host = requireHost(ctx);
  const projectId = ctx.op.scope_id;
  const project = await projectHostOf(deps.db, projectId);
  if (!project) throw new PermanentError(`project ${projectId} no longer exists`, 'not_found');
  if (!project.backup_region) throw new PermanentError(`project ${projectId} has no backup region`, 'no_backup_region');
  const region = project.backup_region;
  const roots = ROOTS.map((root) => path.join(projectDir(host, projectId), root));
  return {
    projectId,
    host,
    region,
    dir: projectDir(host, projectId),
    /** The two roots' folders on this host. */
    roots,
    bucket: (): Promise<Bucket> => deps.buckets.of(region),
    /** A change in the roots after what is known of them (see unseenChange), or null. */
    unseenChange: (): Promise<Date | null> => unseenChange(roots, project.seen_until),
    /** Refuses (permanently, `not_writable`) a project folder this host cannot write, before any write. */
    writable: (): Promise<void> => assertWritable(projectDir(host, projectId)),
  };
}

/**
 * A short phase of a project op's log (a scan, a check): a bar of its own that fills when `fn` is
 * done, weighted next to nothing, so the overall bar follows the long phases (the bytes).
 */
export async function briefly<T>(ctx: HandlerContext<unknown>, phase: string, message: string, fn: () => Promise<T>): Promise<T> {
  const step = (current: number) => ({ current, total: 1, unit: 'step', weight: 0.01 });
  ctx.progress({ phase, message, progress: step(0) });
  const value = await fn();
  ctx.progress({ phase, progress: step(1) });
  return value;
}

/**
 * A project kind: run on the project's host (its routing, looked up at create), 6 hours at most,
 * restic's failures turned into the op's (asOpError) in one place for every kind.
 */
export function projectKind<I, R>(deps: ProjectKindDeps, def: Omit<KindDefinition<I, R>, 'routing'>): KindDefinition<I, R> {
  return {
    timeoutS: 6 * 3600,
    ...def,
    routing: (_input, scope) => projectRouting(deps.db, scope),
    run: (ctx) => def.run(ctx).catch((err: unknown) => Promise.reject(asOpError(err))),
  };
}

/**
 * `restic backup` of `paths` (relative to the project's folder) into its bucket, tagged `tags`, its
 * `--json` status lines as progress on `phase` (bytes, files); resolves with restic's summary, which
 * names the snapshot. Both a backup and a copy's snapshot take theirs this way.
 */
export async function resticBackup(
  deps: ProjectKindDeps,
  ctx: HandlerContext<unknown>,
  p: { projectId: string; dir: string; bucket(): Promise<Bucket> },
  opts: { phase: string; tags: string[]; paths: readonly string[] },
): Promise<Record<string, unknown> & { snapshot_id: string }> {
  let summary: Record<string, unknown> | undefined;
  const tags = opts.tags.flatMap((t) => ['--tag', t]);
  await deps.restic.run(await p.bucket(), ['backup', '--json', '--host', `project-${p.projectId}`, ...tags, ...opts.paths], {
    cwd: p.dir,
    signal: ctx.signal,
    onJson: (m) => {
      if (m.message_type === 'summary') summary = m;
      if (m.message_type !== 'status' || typeof m.total_bytes !== 'number') return;
      ctx.progress({
        phase: opts.phase,
        progress: { current: Number(m.bytes_done ?? 0), total: m.total_bytes, unit: 'bytes' },
        detail: { files_done: Number(m.files_done ?? 0), total_files: Number(m.total_files ?? 0) },
      });
    },
  });
  if (typeof summary?.snapshot_id !== 'string') throw new Error('restic ended without naming the snapshot it took');
  return summary as Record<string, unknown> & { snapshot_id: string };
}
