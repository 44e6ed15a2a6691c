/**
 * Restoring a project's snapshot (layout v2: `/project` and `/persist` at the root) on its host:
 * restic writes into a staging folder beside the project's roots, and only a finished restore is
 * moved into place (a rename each), so a failure — a full disk, a cancel, a dead bucket — leaves the
 * project as it was. restic 0.14 prints no progress while restoring: the bytes restic has written
 * (its /proc io counter), against the snapshot's size (`restic ls`, or the bytes recorded with the
 * backup), are the measure.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { ProgressEvent } from '../shared/progress.js';
import { bytesWrittenBy, confined, replaceWith, treeBytes } from './files.js';
import { ResticError, type Bucket, type Restic } from './restic.js';
import { LAYOUT_TAG, ROOTS } from './layout.js';

export interface Snapshot {
  id: string;
  short_id: string;
  time: string;
  tags: string[];
}

/**
 * The project's backups in the bucket (layout v2), newest first; with `all`, its copy snapshots
 * (`purpose=copy`) too.
 */
export async function projectSnapshots(
  restic: Restic,
  bucket: Bucket,
  projectId: string,
  signal?: AbortSignal,
  opts: { all?: boolean } = {},
): Promise<Snapshot[]> {
  const out = await restic.run(bucket, ['snapshots', '--json', '--tag', `project=${projectId}`], { signal });
  const all = (JSON.parse(out || '[]') as Snapshot[]).filter((s) => opts.all || s.tags?.includes(LAYOUT_TAG));
  return all.sort((a, b) => b.time.localeCompare(a.time));
}

/** The snapshot named (an id or its prefix, of this project), or the newest; ResticError snapshot_not_found. */
export async function findSnapshot(restic: Restic, bucket: Bucket, projectId: string, id?: string, signal?: AbortSignal) {
  const snapshots = await projectSnapshots(restic, bucket, projectId, signal);
  const found = id ? snapshots.find((s) => s.id.startsWith(id)) : snapshots[0];
  if (!found)
    throw new ResticError('snapshot_not_found', id ? `project ${projectId} has no snapshot ${id}` : `project ${projectId} has no backup`);
  return found;
}

export interface RestoreRequest {
  /** `<data-dir>/projects/<project_id>`: holds `project/` and `persist/`. */
  projectDir: string;
  snapshot: Snapshot;
  /** Inside the snapshot (`project/src`); '' for the whole snapshot. */
  path: string;
  /** A folder inside the project dir to restore into (`project/restored`); absent: in place. */
  target?: string;
  signal?: AbortSignal;
  progress?: (event: ProgressEvent) => void;
  /**
   * The whole snapshot's size when already known (the bytes recorded with the backup): no `restic
   * ls` first, and `files` comes back 0 (not counted).
   */
  knownBytes?: number | null;
}

export async function restoreSnapshot(restic: Restic, bucket: Bucket, r: RestoreRequest): Promise<{ files: number; bytes: number }> {
  const filter = r.path ? [`/${r.path}`] : [];
  const size =
    !r.path && r.knownBytes != null
      ? { files: 0, bytes: r.knownBytes, nodes: 1 }
      : await snapshotSize(restic, bucket, r.snapshot.id, r.path, r.signal);
  if (r.path && size.nodes === 0) throw new ResticError('snapshot_not_found', `snapshot ${r.snapshot.short_id} has no ${r.path}`);
  const made = await mkdir(r.projectDir, { recursive: true }); // the first folder it had to make, if any
  const staging = path.join(r.projectDir, `.lro-restore-${randomUUID().slice(0, 8)}`);
  const report = (written: number) =>
    r.progress?.({ phase: 'restore', progress: { current: Math.min(written, size.bytes), total: size.bytes, unit: 'bytes' } });
  // What restic has written so far: its write calls' bytes where /proc tells them, else the bytes
  // in the staging folder (a find: costlier, so no more than once a second either way).
  let pid: number | null = null;
  const written = async () => (pid !== null ? await bytesWrittenBy(pid) : null) ?? (await treeBytes(staging));
  let restored = false;
  const timer = setInterval(() => void written().then(report), 1000);
  try {
    await restic.run(bucket, ['restore', r.snapshot.id, '--target', staging, ...filter.flatMap((f) => ['--include', f])], {
      signal: r.signal,
      onSpawn: (p) => (pid = p),
    });
    clearInterval(timer);
    report(size.bytes); // restic is done: every byte of the snapshot is there
    // What the snapshot held at `path` (or each root), moved to where it belongs.
    const items: string[] = r.path ? [r.path] : [...ROOTS];
    for (const item of items) {
      const dest = r.target !== undefined ? path.join(r.target, r.path ? path.basename(item) : item) : item;
      await replaceWith(path.join(staging, item), await confined(r.projectDir, dest));
    }
    restored = true;
    return { files: size.files, bytes: size.bytes };
  } finally {
    clearInterval(timer);
    await rm(staging, { recursive: true, force: true });
    if (!restored && made) await rmdir(r.projectDir).catch(() => {}); // a failed restore leaves no empty project behind
  }
}

/**
 * Files, bytes and nodes at and under `/<under>` (or the whole snapshot), from `restic ls --json`
 * of the whole snapshot (restic 0.14's `ls <dir>` does not descend into subfolders).
 */
async function snapshotSize(restic: Restic, bucket: Bucket, id: string, under: string, signal?: AbortSignal) {
  const size = { files: 0, bytes: 0, nodes: 0 };
  const at = `/${under}`;
  await restic.run(bucket, ['ls', '--json', id], {
    signal,
    onJson: (m) => {
      const p = String(m.path ?? '');
      if (m.struct_type !== 'node' || (under && p !== at && !p.startsWith(`${at}/`))) return;
      size.nodes++;
      if (m.type === 'file') {
        size.files++;
        size.bytes += Number(m.size ?? 0);
      }
    },
  });
  return size;
}
