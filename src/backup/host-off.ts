/**
 * `host-off` (scope: the host; run on the hub): every project of the host stopped and backed up
 * first — child ops, rolled up into this op's bar — then the host marked `off`, so no project op is
 * routed to it any more. With `force`, off at once. A backup that fails leaves the host on.
 */
import { z } from 'zod';
import { hostGet, hostSetStatus } from '../domain/sql/hosts.js';
import { projectListByHost } from '../domain/sql/projects.js';
import type { KindDefinition } from '../lro/kinds.js';
import type { Db } from '../lro/sql/operations.js';
import { PermanentError } from '../workers/abort.js';
import { runChildren, type ChildOps } from '../workers/children.js';
import { onHubFor } from './project-context.js';

const HostOffResult = z.strictObject({ backed_up: z.int(), skipped: z.int() });

export interface HostOffDeps {
  db: Db;
  children: ChildOps;
}

export function hostOffKind(deps: HostOffDeps): KindDefinition<{ force: boolean }, z.output<typeof HostOffResult>> {
  return {
    name: 'host-off',
    dedupeKey: 'off', // one at a time per scope: a second create gets the one running
    input: z.strictObject({ force: z.boolean().default(false) }),
    result: HostOffResult,
    routing: onHubFor('host-off', 'host'),
    async run(ctx) {
      const hostId = ctx.op.scope_id;
      const host = await hostGet(deps.db, hostId);
      if (!host) throw new PermanentError(`host ${hostId} no longer exists`, 'not_found');
      const projects = await projectListByHost(deps.db, hostId);
      if (ctx.input.force || projects.length === 0) {
        await markOff(deps.db, hostId, ctx.input.force ? `off at once (force): ${projects.length} projects not backed up` : 'no projects');
        return { backed_up: 0, skipped: projects.length };
      }
      if (host.status !== 'running') {
        throw new PermanentError(
          `host ${hostId} is ${host.status}: its projects cannot be backed up; force takes it off without`,
          'host_off',
        );
      }
      const running = projects.filter((p) => p.run_state === 'running');
      const child = (kind: string, projectId: string) => ({ key: `${kind}:${projectId}`, kind, scope: { type: 'project', id: projectId } });
      const stopped = await runChildren(
        ctx,
        deps.children,
        'stop',
        running.map((p) => child('project-stop', p.project_id)),
      );
      const backups = await runChildren(
        ctx,
        deps.children,
        'backup',
        projects.map((p) => child('project-backup', p.project_id)),
      );
      // A project with no files on the host (never started) has nothing to lose: skipped, not a failure.
      const outcome = [...stopped.values(), ...backups.values()];
      const failed = outcome.filter((op) => op.status !== 'succeeded' && op.error?.code !== 'no_data');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new PermanentError(
          `${failed.length} of ${outcome.length} stops and backups did not succeed (first: ${first.kind} of project ${first.scope_id}: ` +
            `${first.error?.message ?? first.status}); the host stays on`,
          'backup_failed',
        );
      }
      const backedUp = [...backups.values()].filter((op) => op.status === 'succeeded').length;
      await markOff(deps.db, hostId, `${backedUp} projects backed up`);
      return { backed_up: backedUp, skipped: projects.length - backedUp };

      async function markOff(db: Db, id: string, why: string) {
        ctx.progress({
          phase: 'off',
          message: `marking the host off: ${why}`,
          progress: { current: 0, total: 1, unit: 'step', weight: 0.01 },
        });
        await hostSetStatus(db, { host_id: id, status: 'off' });
        ctx.progress({ phase: 'off', progress: { current: 1, total: 1, unit: 'step', weight: 0.01 } });
      }
    },
  };
}
