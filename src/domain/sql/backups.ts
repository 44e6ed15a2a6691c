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

/** A project's snapshots, newest first. */
export async function backupListByProject(db: Db, projectId: string): Promise<ProjectBackup[]> {
  const { rows } = await db.query<ProjectBackup>('SELECT * FROM project_backups WHERE project_id = $1 ORDER BY created_at DESC', [
    projectId,
  ]);
  return rows;
}

export async function backupInsert(db: Db, b: Omit<ProjectBackup, 'created_at'>): Promise<ProjectBackup> {
  const { rows } = await db.query<ProjectBackup>(
    `INSERT INTO project_backups (project_id, snapshot_id, region, tags, bytes, op_id) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING *`,
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
                ON CONFLICT (project_id, snapshot_id) DO UPDATE SET op_id = excluded.op_id RETURNING *),
          p AS (UPDATE projects SET last_backup = greatest(last_backup, $7) WHERE project_id = $1)
     SELECT * FROM b`,
    [b.project_id, b.snapshot_id, b.region, b.tags, b.bytes, b.op_id, b.started_at],
  );
  return rows[0]!;
}
