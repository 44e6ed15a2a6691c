/** Statements on `hosts`. */
import type { Db } from '../../lro/sql/operations.js';

export interface Host {
  host_id: string;
  name: string;
  region: string;
  admin_account_id: string | null;
  status: 'running' | 'off' | 'deprovisioned';
  last_seen: Date | null;
  created_at: Date;
}

export async function hostInsert(db: Db, p: { name: string; region: string; admin_account_id: string | null }): Promise<Host> {
  const { rows } = await db.query<Host>('INSERT INTO hosts (name, region, admin_account_id) VALUES ($1, $2, $3) RETURNING *', [
    p.name,
    p.region,
    p.admin_account_id,
  ]);
  return rows[0]!;
}

export async function hostGet(db: Db, hostId: string): Promise<Host | null> {
  const { rows } = await db.query<Host>('SELECT * FROM hosts WHERE host_id = $1', [hostId]);
  return rows[0] ?? null;
}

/**
 * A host's liveness: `running` with `last_seen` now, or `off` when it stops. `keepOff`: a beat of a
 * host taken off (`host-off`) renews `last_seen` and leaves it off. False when no such host
 * (deleted while it ran). `now` pins the clock in tests; the database's otherwise.
 */
export async function hostSetStatus(
  db: Db,
  p: { host_id: string; status: 'running' | 'off'; now?: Date | null; keepOff?: boolean },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE hosts SET status = CASE WHEN $4 AND status = 'off' THEN status ELSE $2 END, last_seen = coalesce($3::timestamptz, now())
      WHERE host_id = $1`,
    [p.host_id, p.status, p.now ?? null, p.keepOff ?? false],
  );
  return rowCount === 1;
}

/**
 * Whether an account may run ops on a host: it administers the host, or collaborates on a project
 * placed on it. A host that does not exist answers false, like one the account may not use.
 */
export async function hostIsUsableBy(db: Db, p: { host_id: string; account_id: string }): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM hosts WHERE host_id = $1 AND admin_account_id = $2)
         OR EXISTS (SELECT 1 FROM project_collaborators c JOIN projects p USING (project_id)
                     WHERE c.account_id = $2 AND p.host_id = $1) AS ok`,
    [p.host_id, p.account_id],
  );
  return rows[0]!.ok;
}

/** The hosts `adminAccountId` administers (null: every host, the admin's view), by region and name. */
export async function hostList(db: Db, adminAccountId: string | null): Promise<Host[]> {
  const { rows } = await db.query<Host>(
    'SELECT * FROM hosts WHERE $1::uuid IS NULL OR admin_account_id = $1 ORDER BY region, name, host_id',
    [adminAccountId],
  );
  return rows;
}
