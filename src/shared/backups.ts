/** A project's backups as the hub answers them and the CLI and the page show them. */

/** One entry of a snapshot's folder (`GET /v1/projects/:id/backups/:snapshot_id/tree?path=`). */
export interface TreeEntry {
  name: string;
  /** `dir`, `file` or `symlink`. */
  type: string;
  /** Inside the snapshot: `project/src/a.txt`. */
  path: string;
  size: number | null;
  mtime: string | null;
  mode: number | null;
}
