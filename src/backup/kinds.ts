import type { KindDefinition, KindRegistry } from '../lro/kinds.js';
import type { ChildOps } from '../workers/children.js';
import { backupSweepKind } from './backup-sweep.js';
import { hostOffKind } from './host-off.js';
import { projectMoveKind } from './project-move.js';
import { projectDeleteKind, projectPurgeKind } from './project-delete.js';
import { copyApplyKind, copyLocalKind, copySnapshotKind } from './copy-host.js';
import { copiesExpireKind, projectCopyKind } from './project-copy.js';
import { projectBackupKind } from './project-backup.js';
import type { ProjectKindDeps } from './project-context.js';
import { projectRestoreKind } from './project-restore.js';
import { projectStartKind, projectStopKind } from './project-start.js';

/** Registers the project kinds (the ones not registered yet) on their services. */
export function registerProjectKinds(kinds: KindRegistry, deps: ProjectKindDeps): KindRegistry {
  const all: KindDefinition[] = [
    projectBackupKind(deps),
    projectRestoreKind(deps),
    projectStartKind(deps),
    projectStopKind(deps),
    projectPurgeKind(deps),
    copySnapshotKind(deps),
    copyLocalKind(deps),
    copyApplyKind(deps),
  ];
  return registerNew(kinds, all);
}

/** Registers the hub's kinds (most make other ops): the backup sweep, host-off, move, delete, copy, copies' expiry. */
export function registerHubKinds(kinds: KindRegistry, deps: ProjectKindDeps & { children: ChildOps }): KindRegistry {
  const all: KindDefinition[] = [
    backupSweepKind({ db: deps.db, createOps: deps.children.createMany }),
    hostOffKind(deps),
    projectMoveKind(deps),
    projectDeleteKind(deps),
    projectCopyKind(deps),
    copiesExpireKind(deps),
  ];
  return registerNew(kinds, all);
}

/** Registers the kinds not registered yet (a caller's own definition of one wins). */
function registerNew(kinds: KindRegistry, all: KindDefinition[]): KindRegistry {
  for (const kind of all) if (!kinds.has(kind.name)) kinds.register(kind);
  return kinds;
}
