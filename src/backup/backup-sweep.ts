/**
 * `backup-sweep`: a `project-backup` op for every project whose files changed since its last backup,
 * on the hub, usually from a schedule. Each backup carries the dedupe key `sweep` on its project's
 * scope, so a project already being backed up by a sweep gets no second op however many sweeps run.
 */
import { z } from 'zod';
import { projectListUnsaved } from '../domain/sql/projects.js';
import type { CreateOptions } from '../lro/create-options.js';
import type { KindDefinition } from '../lro/kinds.js';
import type { Db } from '../lro/sql/operations.js';
import { onHubFor } from './project-context.js';

const SweepResult = z.strictObject({
  /** Projects edited since their last backup. */
  stale: z.int(),
  /** Backups this sweep created. */
  created: z.int(),
  /** Stale projects whose sweep backup was already queued or running. */
  already_active: z.int(),
  /** Stale projects left for a later sweep: their host is off. */
  host_off: z.int(),
});

export const SWEEP_DEDUPE_KEY = 'sweep';
const CHUNK = 500;

export interface SweepDeps {
  db: Db;
  createOps: (requests: unknown[], opts: CreateOptions) => Promise<string[]>;
  /** At most this many projects per sweep (the rest wait for the next). @default 100,000 */
  limit?: number;
}

export function backupSweepKind(deps: SweepDeps): KindDefinition<Record<string, never>, z.output<typeof SweepResult>> {
  return {
    name: 'backup-sweep',
    input: z.strictObject({}),
    result: SweepResult,
    routing: onHubFor('backup-sweep', 'hub'),
    async run(ctx) {
      ctx.progress({ phase: 'sweep', message: 'looking for projects edited since their last backup' });
      const stale = await projectListUnsaved(deps.db, deps.limit ?? 100_000);
      const due = stale.filter((p) => p.host_running);
      let created = 0;
      for (let i = 0; i < due.length; i += CHUNK) {
        ctx.signal.throwIfAborted();
        const chunk = due.slice(i, i + CHUNK);
        const requests = chunk.map((p) => ({
          kind: 'project-backup',
          scope: { type: 'project', id: p.project_id },
          dedupe_key: SWEEP_DEDUPE_KEY,
        }));
        created += (await deps.createOps(requests, { parentId: ctx.op.op_id })).length;
        ctx.progress({ phase: 'sweep', progress: { current: i + chunk.length, total: due.length, unit: 'projects' } });
      }
      return { stale: stale.length, created, already_active: due.length - created, host_off: stale.length - due.length };
    },
  };
}
