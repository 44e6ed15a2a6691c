/**
 * Where a project's data lives on its host, and how a snapshot holds it (layout v2): the two roots
 * `project/` and `persist/` side by side at the root of one snapshot, tagged with the project and the
 * layout.
 */
import path from 'node:path';
import type { HostEnv } from '../lro/kinds.js';

export const LAYOUT_TAG = 'layout=v2';
export const ROOTS = ['project', 'persist'] as const;

/** `<data-dir>/projects/<project_id>`: holds the two roots. */
export const projectDir = (host: HostEnv, projectId: string) => path.join(host.dataDir, 'projects', projectId);

export const projectTags = (projectId: string) => [`project=${projectId}`, LAYOUT_TAG];
