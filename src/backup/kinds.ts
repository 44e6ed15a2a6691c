import type { KindRegistry } from '../lro/kinds.js';
import { projectBackupKind, type ProjectKindDeps } from './project-backup.js';

/** Registers the project kinds (the ones not registered yet) on their services. */
export function registerProjectKinds(kinds: KindRegistry, deps: ProjectKindDeps): KindRegistry {
  for (const kind of [projectBackupKind(deps)]) if (!kinds.has(kind.name)) kinds.register(kind);
  return kinds;
}
