/** Statements on `projects` and `project_collaborators`. */
import type { Db } from '../../lro/sql/operations.js';

export interface Project {
  project_id: string;
  title: string;
  host_id: string | null;
  backup_region: string | null;
  last_edited: Date | null;
  last_backup: Date | null;
  /** Whether it runs on its host (`project-start` / `project-stop`). */
  run_state: 'running' | 'stopped';
  created_by: string | null;
  created_at: Date;
}

/** Whether a project's last backup holds its last edit: none yet, fresh (taken since), stale (edited since). */
export type BackupState = 'none' | 'fresh' | 'stale';

/** A project as read: with its backup state, decided here and nowhere else. */
export interface ProjectView extends Project {
  backup_state: BackupState;
  /** `backup_state = 'fresh'`, for callers that only ask "is it backed up". */
  backup_fresh: boolean;
}

/** The one decision of backup freshness (a project never edited counts as fresh once backed up). */
const BACKUP_STATE = `CASE WHEN last_backup IS NULL THEN 'none'
  WHEN last_edited IS NULL OR last_backup >= last_edited THEN 'fresh' ELSE 'stale' END`;
const VIEW_COLUMNS = `*, ${BACKUP_STATE} AS backup_state, (${BACKUP_STATE}) = 'fresh' AS backup_fresh`;

/** Creates a project with its creator as the first collaborator, in one statement. */
export async function projectInsert(
  db: Db,
  p: { title: string; host_id: string | null; backup_region: string | null; created_by: string },
): Promise<ProjectView> {
  const { rows } = await db.query<ProjectView>(
    `WITH p AS (INSERT INTO projects (title, host_id, backup_region, created_by) VALUES ($1, $2, $3, $4) RETURNING *),
     c AS (INSERT INTO project_collaborators (project_id, account_id) SELECT project_id, $4 FROM p)
     SELECT ${VIEW_COLUMNS} FROM p`,
    [p.title, p.host_id, p.backup_region, p.created_by],
  );
  return rows[0]!;
}

export async function projectGet(db: Db, projectId: string): Promise<ProjectView | null> {
  const { rows } = await db.query<ProjectView>(`SELECT ${VIEW_COLUMNS} FROM projects WHERE project_id = $1`, [projectId]);
  return rows[0] ?? null;
}

/** The projects on a host, oldest first, with their backup state (for the host admin page). */
export async function projectListByHost(db: Db, hostId: string): Promise<ProjectView[]> {
  const { rows } = await db.query<ProjectView>(`SELECT ${VIEW_COLUMNS} FROM projects WHERE host_id = $1 ORDER BY created_at`, [hostId]);
  return rows;
}

/** Adds a collaborator (no-op when already one); a missing project or account is a foreign key violation. */
export async function projectCollaboratorAdd(db: Db, p: { project_id: string; account_id: string }): Promise<void> {
  await db.query('INSERT INTO project_collaborators (project_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    p.project_id,
    p.account_id,
  ]);
}

/**
 * The scopes an account may read: itself, the projects it collaborates on, the hosts it administers.
 */
export async function accountScopeList(db: Db, accountId: string): Promise<{ type: string; id: string }[]> {
  const { rows } = await db.query<{ type: string; id: string }>(
    `SELECT 'account' AS type, $1::text AS id
     UNION ALL SELECT 'project', project_id::text FROM project_collaborators WHERE account_id = $1::uuid
     UNION ALL SELECT 'host', host_id::text FROM hosts WHERE admin_account_id = $1::uuid`,
    [accountId],
  );
  return rows;
}

/**
 * Up to when a project's changes are known: recorded in `last_edited`, or older than its last backup
 * (which holds them). A scan looks only for changes after it: one it finds makes the project stale.
 */
const SEEN_UNTIL = 'greatest(p.last_edited, p.last_backup) AS seen_until';

export interface ProjectPlacement {
  host_id: string | null;
  host_status: string | null;
  backup_region: string | null;
  seen_until: Date | null;
}

/** Where a project's ops run: its host's routing, or null when it has none (or no such project: undefined). */
export async function projectHostOf(db: Db, projectId: string): Promise<ProjectPlacement | undefined> {
  const { rows } = await db.query<ProjectPlacement>(
    `SELECT p.host_id, h.status AS host_status, coalesce(p.backup_region, h.region) AS backup_region, ${SEEN_UNTIL}
       FROM projects p LEFT JOIN hosts h USING (host_id) WHERE p.project_id = $1`,
    [projectId],
  );
  return rows[0];
}

/**
 * A project started or stopped on its host; `last_edited` moves forward to `edited` when given
 * (never backwards). Returns the project's `last_edited` afterwards.
 */
export async function projectSetRunState(
  db: Db,
  p: { project_id: string; run_state: 'running' | 'stopped'; edited?: Date | null },
): Promise<{ last_edited: Date | null }> {
  const { rows } = await db.query<{ last_edited: Date | null }>(
    `UPDATE projects SET run_state = $2, last_edited = CASE WHEN $3::timestamptz IS NULL THEN last_edited
                                                          ELSE greatest(last_edited, $3::timestamptz) END
      WHERE project_id = $1 RETURNING last_edited`,
    [p.project_id, p.run_state, p.edited ?? null],
  );
  return rows[0] ?? { last_edited: null };
}

/** Whether a backup of the project was ever recorded (then its bucket must have one: it never starts empty). */
export async function projectHasBackup(db: Db, projectId: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM projects p WHERE p.project_id = $1
        AND (p.last_backup IS NOT NULL OR EXISTS (SELECT 1 FROM project_backups b WHERE b.project_id = p.project_id))`,
    [projectId],
  );
  return rows.length > 0;
}

/** `last_edited` moved forward to `edited` (a change the host saw in the project's files); never backwards. */
export async function projectEdited(db: Db, p: { project_id: string; edited: Date | null }): Promise<void> {
  if (p.edited === null) return;
  await db.query('UPDATE projects SET last_edited = greatest(last_edited, $2) WHERE project_id = $1', [p.project_id, p.edited]);
}

/**
 * The projects whose files changed since their last backup (or that were edited and never backed
 * up), edited longest ago first, with whether their host is running (a backup runs only there).
 */
export async function projectListUnsaved(db: Db, limit: number): Promise<{ project_id: string; host_running: boolean }[]> {
  const { rows } = await db.query<{ project_id: string; host_running: boolean }>(
    `SELECT p.project_id, h.status = 'running' AS host_running
       FROM projects p JOIN hosts h USING (host_id)
      WHERE p.last_edited IS NOT NULL AND (p.last_backup IS NULL OR p.last_backup < p.last_edited)
      ORDER BY p.last_edited LIMIT $1`,
    [limit],
  );
  return rows;
}

/** The projects running on a host, with up to when their changes are known (for the host's freshness watch). */
export async function projectListRunningOnHost(db: Db, hostId: string): Promise<{ project_id: string; seen_until: Date | null }[]> {
  const { rows } = await db.query<{ project_id: string; seen_until: Date | null }>(
    `SELECT project_id, ${SEEN_UNTIL} FROM projects p WHERE host_id = $1 AND run_state = 'running' ORDER BY project_id`,
    [hostId],
  );
  return rows;
}

/** `last_edited` is now: the project's files were just changed through lro (a restore into it, a copy). */
export async function projectTouch(db: Db, projectId: string): Promise<void> {
  await db.query('UPDATE projects SET last_edited = greatest(last_edited, now()) WHERE project_id = $1', [projectId]);
}

/** A project placed on a host (a move): not running there until it is started. */
export async function projectPlace(db: Db, p: { project_id: string; host_id: string }): Promise<void> {
  await db.query(`UPDATE projects SET host_id = $2, run_state = 'stopped' WHERE project_id = $1`, [p.project_id, p.host_id]);
}

/** A project deleted, its collaborators and backup rows with it (their foreign keys cascade). */
export async function projectDelete(db: Db, projectId: string): Promise<void> {
  await db.query('DELETE FROM projects WHERE project_id = $1', [projectId]);
}

/** These projects (those that exist), each with its host's status: one read for many (a copy's destinations). */
export async function projectListPlaced(
  db: Db,
  projectIds: string[],
): Promise<{ project_id: string; host_id: string | null; host_status: string | null }[]> {
  const { rows } = await db.query<{ project_id: string; host_id: string | null; host_status: string | null }>(
    `SELECT p.project_id, p.host_id, h.status AS host_status FROM projects p LEFT JOIN hosts h USING (host_id)
      WHERE p.project_id = ANY($1::uuid[])`,
    [projectIds],
  );
  return rows;
}

/** A project as a page lists it: with its host's name and status. */
export interface ProjectListed extends ProjectView {
  host_name: string | null;
  host_status: string | null;
}

/**
 * The projects `accountId` collaborates on (null: every project, the admin's view), newest first;
 * `q` matches the title (case-insensitive, anywhere), `ids` narrows to these projects.
 */
export async function projectList(
  db: Db,
  p: { account_id: string | null; q?: string; ids?: string[]; limit: number },
): Promise<ProjectListed[]> {
  const { rows } = await db.query<ProjectListed>(
    `SELECT p.*, h.name AS host_name, h.status AS host_status
       FROM (SELECT ${VIEW_COLUMNS} FROM projects) p LEFT JOIN hosts h USING (host_id)
      WHERE ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM project_collaborators c WHERE c.project_id = p.project_id AND c.account_id = $1))
        AND ($2::text IS NULL OR p.title ILIKE '%' || replace(replace(replace($2, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')
        AND ($3::uuid[] IS NULL OR p.project_id = ANY($3))
      ORDER BY p.created_at DESC, p.project_id LIMIT $4`,
    [p.account_id, p.q ?? null, p.ids ?? null, p.limit],
  );
  return rows;
}

/** A project's collaborators with their names, oldest first. */
export async function projectCollaboratorList(db: Db, projectId: string): Promise<{ account_id: string; name: string }[]> {
  const { rows } = await db.query<{ account_id: string; name: string }>(
    `SELECT a.account_id, a.name FROM project_collaborators c JOIN accounts a USING (account_id)
      WHERE c.project_id = $1 ORDER BY a.created_at, a.account_id`,
    [projectId],
  );
  return rows;
}

/**
 * Sets a project's backup region while it has no backup and no op is queued or running on it (a
 * backup under way writes to the region it read when it began: its snapshot would be left in the
 * old region's bucket). Returns whether it changed: false otherwise (or no such project).
 */
export async function projectSetBackupRegion(db: Db, p: { project_id: string; backup_region: string }): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE projects p SET backup_region = $2 WHERE p.project_id = $1
        AND p.last_backup IS NULL AND NOT EXISTS (SELECT 1 FROM project_backups b WHERE b.project_id = p.project_id)
        AND NOT EXISTS (SELECT 1 FROM long_running_operations o
                         WHERE o.scope_type = 'project' AND o.scope_id = p.project_id::text AND o.status IN ('queued', 'running'))`,
    [p.project_id, p.backup_region],
  );
  return rowCount === 1;
}
