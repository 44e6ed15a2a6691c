/** Statements on `project_copies`: pending copies between projects and the snapshots they hold. */
import type { Db } from '../../lro/sql/operations.js';

export type CopyStatus = 'pending' | 'done' | 'failed' | 'canceled' | 'expired' | 'superseded';

export interface ProjectCopy {
  copy_id: string;
  op_id: string;
  src_project_id: string;
  src_path: string;
  dest_project_id: string;
  dest_path: string;
  region: string;
  snapshot_id: string;
  options: { error_on_exist?: boolean; force?: boolean };
  status: CopyStatus;
  last_error: string | null;
  attempts: number;
  last_attempt_at: Date | null;
  created_at: Date;
  expires_at: Date;
  finished_at: Date | null;
  snapshot_forgotten_at: Date | null;
}

export interface CopyRow {
  src_path: string;
  dest_project_id: string;
  dest_path: string;
}

/**
 * Pending copies from one snapshot; an older pending copy of the same source path to the same
 * destination path is superseded first (its own statement: the partial unique index must see it
 * gone). Returns the rows made.
 */
export async function copyInsertMany(
  db: Db,
  p: { op_id: string; src_project_id: string; region: string; snapshot_id: string; options: object; rows: CopyRow[] },
): Promise<ProjectCopy[]> {
  const rows = [p.rows.map((r) => r.src_path), p.rows.map((r) => r.dest_project_id), p.rows.map((r) => r.dest_path)];
  await db.query(
    `UPDATE project_copies c SET status = 'superseded', finished_at = now()
       FROM unnest($2::text[], $3::uuid[], $4::text[]) AS r(src_path, dest_project_id, dest_path)
      WHERE c.status = 'pending' AND c.src_project_id = $1 AND c.src_path = r.src_path
        AND c.dest_project_id = r.dest_project_id AND c.dest_path = r.dest_path`,
    [p.src_project_id, ...rows],
  );
  const made = await db.query<ProjectCopy>(
    `INSERT INTO project_copies (op_id, src_project_id, region, snapshot_id, options, src_path, dest_project_id, dest_path)
     SELECT $1, $2, $3, $4, $5, r.* FROM unnest($6::text[], $7::uuid[], $8::text[]) AS r
     RETURNING *`,
    [p.op_id, p.src_project_id, p.region, p.snapshot_id, JSON.stringify(p.options), ...rows],
  );
  return made.rows;
}

/** The copies a copy op made (any status), oldest first. */
export async function copyListByOp(db: Db, opId: string): Promise<ProjectCopy[]> {
  const { rows } = await db.query<ProjectCopy>('SELECT * FROM project_copies WHERE op_id = $1 ORDER BY created_at, copy_id', [opId]);
  return rows;
}

/** A project's pending copies, as destination (to apply) or source, oldest first. */
export async function copyListPending(db: Db, p: { project_id: string; as: 'dest' | 'any' }): Promise<ProjectCopy[]> {
  const { rows } = await db.query<ProjectCopy>(
    `SELECT * FROM project_copies WHERE status = 'pending'
        AND (dest_project_id = $1 OR ($2 = 'any' AND src_project_id = $1)) ORDER BY created_at, copy_id`,
    [p.project_id, p.as],
  );
  return rows;
}

/** The projects on a host with pending copies to apply (on host start). */
export async function copyDestsOnHost(db: Db, hostId: string): Promise<string[]> {
  const { rows } = await db.query<{ project_id: string }>(
    `SELECT DISTINCT c.dest_project_id AS project_id FROM project_copies c JOIN projects p ON p.project_id = c.dest_project_id
      WHERE c.status = 'pending' AND p.host_id = $1`,
    [hostId],
  );
  return rows.map((r) => r.project_id);
}

export async function copyGet(db: Db, copyId: string): Promise<ProjectCopy | null> {
  const { rows } = await db.query<ProjectCopy>('SELECT * FROM project_copies WHERE copy_id = $1', [copyId]);
  return rows[0] ?? null;
}

/** A pending copy ended (done, failed for good, canceled); false when it was no longer pending. */
export async function copyFinish(db: Db, p: { copy_id: string; status: CopyStatus; error?: string | null }): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE project_copies SET status = $2, last_error = $3, finished_at = now() WHERE copy_id = $1 AND status = 'pending'`,
    [p.copy_id, p.status, p.error ?? null],
  );
  return rowCount === 1;
}

/** An attempt at a pending copy that did not work this time: counted, its error kept, still pending. */
export async function copyAttemptFailed(db: Db, p: { copy_id: string; error: string }): Promise<void> {
  await db.query(
    `UPDATE project_copies SET attempts = attempts + 1, last_attempt_at = now(), last_error = $2 WHERE copy_id = $1 AND status = 'pending'`,
    [p.copy_id, p.error],
  );
}

/** Pending copies past their expiry, expired now; returns them. */
export async function copyExpire(db: Db, now: Date | null = null): Promise<ProjectCopy[]> {
  const { rows } = await db.query<ProjectCopy>(
    `UPDATE project_copies SET status = 'expired', finished_at = coalesce($1::timestamptz, now())
      WHERE status = 'pending' AND expires_at <= coalesce($1::timestamptz, now()) RETURNING *`,
    [now],
  );
  return rows;
}

/** The copy snapshots no pending copy needs any more and not forgotten yet, with their region. */
export async function copySnapshotsUnneeded(db: Db, snapshotIds: string[]): Promise<{ snapshot_id: string; region: string }[]> {
  const { rows } = await db.query<{ snapshot_id: string; region: string }>(
    `SELECT DISTINCT snapshot_id, region FROM project_copies c
      WHERE c.snapshot_id = ANY($1::text[]) AND c.snapshot_forgotten_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM project_copies p WHERE p.snapshot_id = c.snapshot_id AND p.status = 'pending')`,
    [snapshotIds],
  );
  return rows;
}

/** Those snapshots forgotten in their bucket. */
export async function copySnapshotsForgotten(db: Db, snapshotIds: string[]): Promise<void> {
  await db.query(
    'UPDATE project_copies SET snapshot_forgotten_at = now() WHERE snapshot_id = ANY($1::text[]) AND snapshot_forgotten_at IS NULL',
    [snapshotIds],
  );
}
