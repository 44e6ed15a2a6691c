/**
 * `project-move` (scope: the project; run on the hub): the notes' Phase 2. The destination is checked
 * when the op is asked for (it exists, is not deprovisioned, is in the project's backup region), so a
 * refused one runs nothing. Then, each a phase of this op's bar: stop the project if it runs, back it
 * up only if its last backup does not hold its last edit, move its placement, start it on the
 * destination with `restore: auto` — stop, backup and start as child ops. A failed stop or backup
 * changes nothing; a failed start puts the placement back. Only the backup history moves: what the
 * source host keeps outside the project's two roots stays there.
 */
import { z } from 'zod';
import { backupLatest } from '../domain/sql/backups.js';
import { hostGet } from '../domain/sql/hosts.js';
import { projectGet, projectPlace } from '../domain/sql/projects.js';
import { ConflictError, NotFoundError } from '../lro/errors.js';
import type { HandlerContext, KindDefinition } from '../lro/kinds.js';
import { operationGetActiveByDedupe, type Db } from '../lro/sql/operations.js';
import type { Operation } from '../shared/operation.js';
import { PermanentError } from '../workers/abort.js';
import { runChildren, type ChildOps } from '../workers/children.js';
import { requireScope } from './project-context.js';

const MoveInput = z.strictObject({ dest_host_id: z.uuid({ message: 'must be a host id (uuid)' }) });
const MoveResult = z.strictObject({
  from_host_id: z.string().nullable(),
  to_host_id: z.string(),
  backed_up: z.boolean(),
  snapshot_id: z.string().optional(),
});

export const MOVE_WARNING = 'only the backup history moves: host-local state outside project/ and persist/ stays on the old host';

/** The project and its destination, as a move needs them; the errors a caller gets at create. */
async function plan(db: Db, projectId: string, destHostId: string) {
  const project = await projectGet(db, projectId);
  if (!project) throw new NotFoundError(`project ${projectId}`);
  const dest = await hostGet(db, destHostId);
  if (!dest) throw new NotFoundError(`host ${destHostId}`);
  if (dest.status !== 'running') throw new ConflictError(`host ${destHostId} is ${dest.status}: a project moves only to a running host`);
  const source = project.host_id ? await hostGet(db, project.host_id) : null;
  const region = project.backup_region ?? source?.region ?? null;
  if (region !== null && dest.region !== region) {
    throw new ConflictError(
      `host ${destHostId} is in region ${dest.region}, the project's backups in ${region}: a move stays in one region`,
    );
  }
  return { project, dest, source, region: region ?? dest.region };
}

export function projectMoveKind(deps: {
  db: Db;
  children: ChildOps;
}): KindDefinition<z.output<typeof MoveInput>, z.output<typeof MoveResult>> {
  return {
    name: 'project-move',
    warnings: [MOVE_WARNING],
    dedupeKey: 'move', // one at a time per scope: a second create gets the one running
    input: MoveInput,
    result: MoveResult,
    timeoutS: 12 * 3600,
    // Placing a project on a host lets its collaborators run ops there: only that host's admin may (as at create).
    alsoActsOn: (input) => [{ type: 'host', id: input.dest_host_id }],
    routing: async (input, scope) => {
      requireScope('project-move', scope, 'project');
      // A refused destination refuses the request: nothing runs. (Not in run: a retry finds it placed there.)
      const { project, dest } = await plan(deps.db, scope.id, input.dest_host_id);
      // Already there: refused, unless a move (there) is under way, which the request then joins.
      const active = await operationGetActiveByDedupe(deps.db, {
        scope_type: 'project',
        scope_id: scope.id,
        kind: 'project-move',
        dedupe_key: 'move',
      });
      if (project.host_id === dest.host_id && !active) {
        throw new ConflictError(`project ${scope.id} is on host ${dest.name} already: choose another host`);
      }
      return 'hub';
    },
    async run(ctx) {
      const { project, dest, source, region } = await plan(deps.db, ctx.op.scope_id, ctx.input.dest_host_id);
      const child = (step: string, kind: string, input: object = {}) => runOne(ctx, deps.children, step, kind, input);
      const from = project.host_id;
      const moved = from === dest.host_id; // an earlier attempt placed it already: on to the start
      ctx.progress({ phase: 'check', message: `moving to host ${dest.name}: ${MOVE_WARNING}` });
      let backedUp = false;
      if (!moved && source?.status === 'running') {
        if (project.run_state === 'running') await child('stop', 'project-stop');
        const fresh = await projectGet(deps.db, project.project_id);
        if (fresh?.backup_state !== 'fresh') {
          await child('backup', 'project-backup');
          backedUp = true;
        }
      } else if (!moved) {
        // The source host is off: the project moves from its last backup, said plainly.
        if (project.backup_state === 'none' && project.last_edited !== null) {
          throw new PermanentError(
            `host ${from} is off and project ${project.project_id} has no backup: nothing to move from`,
            'no_backup',
          );
        }
        const stale = project.backup_state === 'stale' ? ` — STALE: edited ${project.last_edited?.toISOString()} after it` : '';
        ctx.progress({
          phase: 'check',
          message: `host ${from} is off: moving from the last backup (${project.last_backup?.toISOString()})${stale}`,
        });
      }
      if (!moved) {
        ctx.progress({ phase: 'place', message: `placing the project on host ${dest.name}` });
        await projectPlace(deps.db, { project_id: project.project_id, host_id: dest.host_id });
      }
      try {
        await child('start', 'project-start', { restore: 'auto' });
      } catch (err) {
        if (from !== null && from !== dest.host_id) await projectPlace(deps.db, { project_id: project.project_id, host_id: from });
        throw new PermanentError(
          `the start on host ${dest.name} failed, so the project is back on its old host: ${(err as Error).message}`,
          'start_failed',
        );
      }
      const latest = await backupLatest(deps.db, { project_id: project.project_id, region });
      return { from_host_id: from, to_host_id: dest.host_id, backed_up: backedUp, ...(latest ? { snapshot_id: latest.snapshot_id } : {}) };
    },
  };
}

/** One child op as one phase; its failure is this op's, named. */
async function runOne(ctx: HandlerContext<unknown>, children: ChildOps, step: string, kind: string, input: object): Promise<Operation> {
  const ended = await runChildren(ctx, children, step, [{ key: step, kind, scope: { type: 'project', id: ctx.op.scope_id }, input }]);
  const op = ended.get(step)!;
  if (op.status !== 'succeeded') throw new PermanentError(`${kind} ${op.status}: ${op.error?.message ?? ''}`, `${step}_failed`);
  return op;
}
