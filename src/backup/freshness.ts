/**
 * A host's freshness watch: every interval, each project running on the host is checked for a
 * file changed since its `last_edited` and its last backup (written by the project itself, or
 * straight into its roots), and `last_edited` moves to it, so the project shows `stale` and the next sweep backs it up. The
 * scans before stop and before backup catch the rest (a stopped project changed by hand).
 */
import path from 'node:path';
import { projectEdited, projectListRunningOnHost } from '../domain/sql/projects.js';
import type { HostEnv } from '../lro/kinds.js';
import type { Logger } from '../lro/log.js';
import { Ticker } from '../lro/service.js';
import type { Db } from '../lro/sql/operations.js';
import { unseenChange } from './files.js';
import { ROOTS, projectDir } from './layout.js';

export interface FreshnessWatchOptions {
  db: Db;
  host: HostEnv;
  /** ms between scans. @default 60,000 */
  intervalMs?: number;
  log: Logger;
}

export class FreshnessWatch {
  readonly #o: FreshnessWatchOptions;
  readonly #ticker: Ticker;

  constructor(opts: FreshnessWatchOptions) {
    this.#o = opts;
    const log = opts.log.child({ service: 'freshness', host_id: opts.host.hostId });
    this.#ticker = new Ticker(() => this.scanOnce(), {
      intervalMs: opts.intervalMs ?? 60_000,
      onError: (err) => log.warn({ err }, 'freshness: scan failed (the next one tries again)'),
    });
  }

  start(): void {
    this.#ticker.start();
  }

  stop(): Promise<void> {
    return this.#ticker.stop();
  }

  /** One scan of the host's running projects; returns the ids of those found changed. */
  async scanOnce(): Promise<string[]> {
    const { db, host } = this.#o;
    const changed: string[] = [];
    for (const p of await projectListRunningOnHost(db, host.hostId)) {
      const roots = ROOTS.map((root) => path.join(projectDir(host, p.project_id), root));
      const edited = await unseenChange(roots, p.seen_until);
      if (!edited) continue;
      await projectEdited(db, { project_id: p.project_id, edited });
      changed.push(p.project_id);
    }
    return changed;
  }
}
