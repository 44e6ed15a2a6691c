/**
 * Browsing a project's backups: its snapshots, and one folder of a snapshot at a time. A snapshot
 * never changes, so its whole listing (`restic ls --json`, one call) is kept per snapshot, indexed by
 * folder: browsing a deep tree is one restic call, not one per click. The cache keeps the
 * `maxSnapshots` most recently browsed.
 */
import path from 'node:path';
import type { TreeEntry } from '../shared/backups.js';
import type { Buckets } from './buckets.js';
import { findSnapshot, projectSnapshots, type Snapshot } from './restore.js';
import { ResticError, type Restic } from './restic.js';

export class SnapshotBrowser {
  readonly #restic: Restic;
  readonly #buckets: Buckets;
  readonly #max: number;
  /** Per snapshot id: its folders' entries, by folder (`''` the root). Most recently used last. */
  readonly #trees = new Map<string, Promise<Map<string, TreeEntry[]>>>();

  constructor(opts: { restic: Restic; buckets: Buckets; maxSnapshots?: number }) {
    this.#restic = opts.restic;
    this.#buckets = opts.buckets;
    this.#max = opts.maxSnapshots ?? 20;
  }

  /** The project's snapshots in its region's bucket, newest first. */
  async snapshots(projectId: string, region: string): Promise<Snapshot[]> {
    return projectSnapshots(this.#restic, await this.#buckets.of(region), projectId);
  }

  /**
   * One folder's entries (`folder` inside the snapshot, '' for the root), folders first, then by
   * name. ResticError `snapshot_not_found` for a snapshot that is not this project's, or a folder it
   * does not hold.
   */
  async folder(projectId: string, region: string, snapshotId: string, folder: string) {
    const bucket = await this.#buckets.of(region);
    const snapshot = await findSnapshot(this.#restic, bucket, projectId, snapshotId);
    const tree = await this.#tree(snapshot.id, () => this.#list(bucket, snapshot.id));
    const entries = tree.get(folder);
    if (!entries) throw new ResticError('snapshot_not_found', `snapshot ${snapshot.short_id} has no folder ${folder || '/'}`);
    return { snapshot, entries };
  }

  #tree(id: string, load: () => Promise<Map<string, TreeEntry[]>>): Promise<Map<string, TreeEntry[]>> {
    let tree = this.#trees.get(id);
    if (tree)
      this.#trees.delete(id); // re-inserted below: most recently used last
    else {
      tree = load();
      tree.catch(() => this.#trees.delete(id));
    }
    this.#trees.set(id, tree);
    while (this.#trees.size > this.#max) this.#trees.delete(this.#trees.keys().next().value!);
    return tree;
  }

  async #list(bucket: Awaited<ReturnType<Buckets['of']>>, id: string): Promise<Map<string, TreeEntry[]>> {
    const byFolder = new Map<string, TreeEntry[]>([['', []]]);
    await this.#restic.run(bucket, ['ls', '--json', id], {
      onJson: (m) => {
        if (m.struct_type !== 'node' || typeof m.path !== 'string') return;
        const p = m.path.replace(/^\/+/, '');
        const entry: TreeEntry = {
          name: path.posix.basename(p),
          type: String(m.type),
          path: p,
          size: typeof m.size === 'number' ? m.size : null,
          mtime: typeof m.mtime === 'string' ? m.mtime : null,
          mode: typeof m.mode === 'number' ? m.mode & 0o7777 : null,
        };
        const parent = path.posix.dirname(p) === '.' ? '' : path.posix.dirname(p);
        if (!byFolder.has(parent)) byFolder.set(parent, []);
        byFolder.get(parent)!.push(entry);
        if (entry.type === 'dir' && !byFolder.has(p)) byFolder.set(p, []);
      },
    });
    const order = (a: TreeEntry, b: TreeEntry) => Number(b.type === 'dir') - Number(a.type === 'dir') || a.name.localeCompare(b.name);
    for (const entries of byFolder.values()) entries.sort(order);
    return byFolder;
  }
}
