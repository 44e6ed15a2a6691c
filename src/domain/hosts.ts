import { foundOr404, NotFoundError, translatingPg } from '../lro/errors.js';
import type { Db } from '../lro/sql/operations.js';
import { requireRegion } from './regions.js';
import { hostGet, hostInsert, hostList, hostSetStatus, type Host } from './sql/hosts.js';

export type { Host };

/**
 * Hosts, for the hub's routes, the CLI and the liveness service: the statements of `sql/hosts.ts`
 * with their SQLSTATEs translated (an admin account deleted while its host is created is a 404
 * naming the account, not a 500). No "does it exist" reads before a write: the foreign keys decide,
 * and the translation says what was missing.
 */
export class HostStore {
  readonly #db: Db;

  constructor(opts: { db: Db }) {
    this.#db = opts.db;
  }

  /**
   * A new host. Its region must be a backup region (`invalid_input` naming `fields.region`); a missing
   * admin account is `not_found`.
   */
  async create(p: { name: string; region: string; admin_account_id?: string | null }, fields = { region: 'region' }): Promise<Host> {
    await requireRegion(this.#db, p.region, fields.region);
    return translatingPg(() => hostInsert(this.#db, { name: p.name, region: p.region, admin_account_id: p.admin_account_id ?? null }));
  }

  /** The host, or null. */
  find(hostId: string): Promise<Host | null> {
    return translatingPg(() => hostGet(this.#db, hostId));
  }

  /** The hosts an account administers (null: every host), by region and name. */
  list(adminAccountId: string | null): Promise<Host[]> {
    return translatingPg(() => hostList(this.#db, adminAccountId));
  }

  /** The host, or NotFoundError. */
  get(hostId: string): Promise<Host> {
    return foundOr404(this.find(hostId), `host ${hostId}`);
  }

  /**
   * Marks a host `running` (seen now) or `off`; with `keepOff`, a host taken off stays off (only
   * seen now). NotFoundError when the host is gone.
   */
  async setStatus(hostId: string, status: 'running' | 'off', opts: { now?: Date | null; keepOff?: boolean } = {}): Promise<void> {
    const found = await translatingPg(() => hostSetStatus(this.#db, { host_id: hostId, status, now: opts.now, keepOff: opts.keepOff }));
    if (!found) throw new NotFoundError(`host ${hostId}`);
  }
}
