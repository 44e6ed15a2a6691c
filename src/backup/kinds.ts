import type { KindDefinition, KindRegistry } from '../lro/kinds.js';
import { projectBackupKind } from './project-backup.js';
import type { ProjectKindDeps } from './project-context.js';
import { projectRestoreKind } from './project-restore.js';
import { projectStartKind, projectStopKind } from './project-start.js';

/** Registers the project kinds (the ones not registered yet) on their services. */
export function registerProjectKinds(kinds: KindRegistry, deps: ProjectKindDeps): KindRegistry {
  const all: KindDefinition[] = [projectBackupKind(deps), projectRestoreKind(deps), projectStartKind(deps), projectStopKind(deps)];
  for (const kind of all) if (!kinds.has(kind.name)) kinds.register(kind);
  return kinds;
}
