/** Statements on `projects` and `project_collaborators`. */
import type { Db } from '../../lro/sql/operations.js';

export interface Project {
  project_id: string;
  title: string;
  host_id: string | null;
  backup_region: string | null;
  last_edited: Date | null;
  last_backup: Date | null;
  created_by: string | null;
  created_at: Date;
}

/** Creates a project with its creator as the first collaborator, in one statement. */
export async function projectInsert(
  db: Db, p: { title: string; host_id: string | null; backup_region: string | null; created_by: string },
): Promise<Project> {
  const { rows } = await db.query<Project>(
    `WITH p AS (INSERT INTO projects (title, host_id, backup_region, created_by) VALUES ($1, $2, $3, $4) RETURNING *),
     c AS (INSERT INTO project_collaborators (project_id, account_id) SELECT project_id, $4 FROM p)
     SELECT * FROM p`,
    [p.title, p.host_id, p.backup_region, p.created_by],
  );
  return rows[0]!;
}

export async function projectGet(db: Db, projectId: string): Promise<Project | null> {
  const { rows } = await db.query<Project>('SELECT * FROM projects WHERE project_id = $1', [projectId]);
  return rows[0] ?? null;
}

export async function collaboratorAdd(db: Db, p: { project_id: string; account_id: string }): Promise<void> {
  await db.query(
    'INSERT INTO project_collaborators (project_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [p.project_id, p.account_id],
  );
}

/**
 * The scopes an account may read: itself, the projects it collaborates on, the hosts it administers.
 */
export async function scopesOfAccount(db: Db, accountId: string): Promise<{ type: string; id: string }[]> {
  const { rows } = await db.query<{ type: string; id: string }>(
    `SELECT 'account' AS type, $1::text AS id
     UNION ALL SELECT 'project', project_id::text FROM project_collaborators WHERE account_id = $1::uuid
     UNION ALL SELECT 'host', host_id::text FROM hosts WHERE admin_account_id = $1::uuid`,
    [accountId],
  );
  return rows;
}

/** The projects on a host with their backup freshness (for the host admin page). */
export async function projectsOnHost(db: Db, hostId: string): Promise<(Project & { backup_fresh: boolean })[]> {
  const { rows } = await db.query<Project & { backup_fresh: boolean }>(
    `SELECT *, (last_backup IS NOT NULL AND (last_edited IS NULL OR last_backup >= last_edited)) AS backup_fresh
       FROM projects WHERE host_id = $1 ORDER BY created_at`,
    [hostId],
  );
  return rows;
}
