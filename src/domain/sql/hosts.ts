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
  const { rows } = await db.query<Host>(
    'INSERT INTO hosts (name, region, admin_account_id) VALUES ($1, $2, $3) RETURNING *',
    [p.name, p.region, p.admin_account_id],
  );
  return rows[0]!;
}

export async function hostGet(db: Db, hostId: string): Promise<Host | null> {
  const { rows } = await db.query<Host>('SELECT * FROM hosts WHERE host_id = $1', [hostId]);
  return rows[0] ?? null;
}

/** A host's liveness: `running` with `last_seen` now, or `off` when it stops. */
export async function hostSetStatus(db: Db, p: { host_id: string; status: 'running' | 'off' }): Promise<void> {
  await db.query('UPDATE hosts SET status = $2, last_seen = now() WHERE host_id = $1', [p.host_id, p.status]);
}
