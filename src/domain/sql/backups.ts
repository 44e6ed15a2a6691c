/** Statements on `project_backups`. */
import type { Db } from '../../lro/sql/operations.js';

export interface ProjectBackup {
  project_id: string;
  snapshot_id: string;
  region: string;
  tags: string[];
  bytes: number | null;
  created_at: Date;
  op_id: string | null;
}

/** A row as callers read it: `bytes` a number (bigint would come back from pg as a string). */
const COLUMNS = 'project_id, snapshot_id, region, tags, bytes::float8 AS bytes, created_at, op_id';

/** A project's snapshots, newest first. */
export async function backupListByProject(db: Db, projectId: string): Promise<ProjectBackup[]> {
  const { rows } = await db.query<ProjectBackup>(`SELECT ${COLUMNS} FROM project_backups WHERE project_id = $1 ORDER BY created_at DESC`, [
    projectId,
  ]);
  return rows;
}

export async function backupInsert(db: Db, b: Omit<ProjectBackup, 'created_at'>): Promise<ProjectBackup> {
  const { rows } = await db.query<ProjectBackup>(
    `INSERT INTO project_backups (project_id, snapshot_id, region, tags, bytes, op_id) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING ${COLUMNS}`,
    [b.project_id, b.snapshot_id, b.region, b.tags, b.bytes, b.op_id],
  );
  return rows[0]!;
}

/**
 * A finished backup: its snapshot row, and the project's `last_backup` moved to when the backup
 * *started* (edits made while it ran are not in it), never backwards. One statement.
 */
export async function backupRecord(db: Db, b: Omit<ProjectBackup, 'created_at'> & { started_at: Date }): Promise<ProjectBackup> {
  const { rows } = await db.query<ProjectBackup>(
    `WITH b AS (INSERT INTO project_backups (project_id, snapshot_id, region, tags, bytes, op_id) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (project_id, snapshot_id) DO UPDATE SET op_id = excluded.op_id RETURNING ${COLUMNS}),
          p AS (UPDATE projects SET last_backup = greatest(last_backup, $7) WHERE project_id = $1)
     SELECT * FROM b`,
    [b.project_id, b.snapshot_id, b.region, b.tags, b.bytes, b.op_id, b.started_at],
  );
  return rows[0]!;
}

/** The project's newest recorded snapshot in a region, or null. */
export async function backupLatest(db: Db, p: { project_id: string; region: string }): Promise<ProjectBackup | null> {
  const { rows } = await db.query<ProjectBackup>(
    `SELECT ${COLUMNS} FROM project_backups WHERE project_id = $1 AND region = $2 ORDER BY created_at DESC LIMIT 1`,
    [p.project_id, p.region],
  );
  return rows[0] ?? null;
}
