import { ConflictError, foundOr404, translatingPg } from '../lro/errors.js';
import type { Db } from '../lro/sql/operations.js';
import { requireRegion } from './regions.js';
import { backupListByProject, type ProjectBackup } from './sql/backups.js';
import {
  projectCollaboratorAdd,
  projectCollaboratorList,
  projectGet,
  projectHasBackup,
  projectInsert,
  projectList,
  projectListByHost,
  projectSetBackupRegion,
  type ProjectListed,
  type ProjectView,
} from './sql/projects.js';

export type { ProjectView, ProjectBackup, ProjectListed };

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

  /** The projects an account collaborates on (null: all), newest first, by title (`q`) or ids. */
  list(p: { account_id: string | null; q?: string; ids?: string[]; limit: number }): Promise<ProjectListed[]> {
    return translatingPg(() => projectList(this.#db, p));
  }

  /** A project's collaborators with their names. */
  collaborators(projectId: string): Promise<{ account_id: string; name: string }[]> {
    return translatingPg(() => projectCollaboratorList(this.#db, projectId));
  }

  /**
   * Sets the backup region of a project that has no backup yet and no op under way; a project with
   * backups keeps its region (`conflict`: its snapshots are in that region's bucket), one with an op
   * queued or running waits for it (`conflict`: a backup under way writes to the old region); an
   * unknown region is `invalid_input`.
   */
  async setBackupRegion(p: { project_id: string; backup_region: string }): Promise<ProjectView> {
    await requireRegion(this.#db, p.backup_region, 'backup_region');
    if (!(await translatingPg(() => projectSetBackupRegion(this.#db, p)))) {
      await this.get(p.project_id); // no such project: 404
      if (await translatingPg(() => projectHasBackup(this.#db, p.project_id))) {
        throw new ConflictError(`project ${p.project_id} has backups in its region: its backup region can no longer change`, {
          reason: 'has_backups',
        });
      }
      throw new ConflictError(`project ${p.project_id} has an op queued or running: change its backup region once it ended`, {
        reason: 'op_active',
      });
    }
    return this.get(p.project_id);
  }
}
