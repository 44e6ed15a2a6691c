import { foundOr404, translatingPg } from '../lro/errors.js';
import type { Db } from '../lro/sql/operations.js';
import { requireRegion } from './regions.js';
import { backupListByProject, type ProjectBackup } from './sql/backups.js';
import { projectCollaboratorAdd, projectGet, projectInsert, projectListByHost, type ProjectView } from './sql/projects.js';

export type { ProjectView, ProjectBackup };

/**
 * Projects, their collaborators and backups, for the hub's routes and the CLI: the statements of
 * `sql/projects.ts` and `sql/backups.ts` with their SQLSTATEs translated. What a project refers to
 * (its host, its creator, a collaborator's account) is checked by the foreign keys, not by a read
 * before the write, so a row deleted meanwhile is a 404 naming it, never a 500.
 */
export class ProjectStore {
  readonly #db: Db;

  constructor(opts: { db: Db }) {
    this.#db = opts.db;
  }

  /**
   * A new project, its creator its first collaborator. A backup region must be one
   * (`invalid_input` naming `fields.backup_region`); a missing host or creator is `not_found`.
   */
  async create(
    p: { title: string; created_by: string; host_id?: string | null; backup_region?: string | null },
    fields = { backup_region: 'backup_region' },
  ): Promise<ProjectView> {
    if (p.backup_region) await requireRegion(this.#db, p.backup_region, fields.backup_region);
    return translatingPg(() =>
      projectInsert(this.#db, {
        title: p.title,
        created_by: p.created_by,
        host_id: p.host_id ?? null,
        backup_region: p.backup_region ?? null,
      }),
    );
  }

  /** The project with its backup state, or null. */
  find(projectId: string): Promise<ProjectView | null> {
    return translatingPg(() => projectGet(this.#db, projectId));
  }

  /** The project with its backup state, or NotFoundError. */
  get(projectId: string): Promise<ProjectView> {
    return foundOr404(this.find(projectId), `project ${projectId}`);
  }

  /** The projects placed on a host, oldest first. */
  listByHost(hostId: string): Promise<ProjectView[]> {
    return translatingPg(() => projectListByHost(this.#db, hostId));
  }

  /** A project's snapshots, newest first. */
  backups(projectId: string): Promise<ProjectBackup[]> {
    return translatingPg(() => backupListByProject(this.#db, projectId));
  }

  /** Adds a collaborator (again: no change); a missing project or account is `not_found`. */
  addCollaborator(p: { project_id: string; account_id: string }): Promise<void> {
    return translatingPg(() => projectCollaboratorAdd(this.#db, p));
  }
}
