/**
 * A backup region's bucket: its restic repository (`backup_regions.repository`) and the password
 * file every bucket is opened with. The password never touches the database, a log or a command
 * line: restic reads it from the file (RESTIC_PASSWORD_FILE).
 */
import type pg from 'pg';
import path from 'node:path';
import { NotFoundError } from '../lro/errors.js';
import { PermanentError } from '../workers/abort.js';
import { withNamedLock } from '../lro/sql/locks.js';
import { regionRepository } from '../domain/sql/regions.js';
import type { Bucket, Restic } from './restic.js';

export interface BucketOptions {
  /** The file holding the repositories' password (LRO_RESTIC_PASSWORD_FILE); null: not configured (backups fail, saying so). */
  passwordFile: string | null;
  /** What a `file:` repository's relative path is resolved against. @default process.cwd() */
  baseDir?: string;
}

/**
 * `file:<path>` (relative to `baseDir`) or a bare path becomes an absolute local path; any other
 * restic URL (`rest:`, `s3:`, `sftp:`, `rclone:` …) is passed on as it is.
 */
export function resolveRepository(repository: string, baseDir: string): string {
  const local = repository.startsWith('file:') ? repository.slice('file:'.length) : /^[a-z0-9]+:/i.test(repository) ? null : repository;
  return local === null ? repository : path.resolve(baseDir, local);
}

export class Buckets {
  readonly #db: pg.Pool;
  readonly #restic: Restic;
  readonly #opts: Required<BucketOptions>;
  /** Repositories this process has seen exist (or created): checked once per process. */
  readonly #ready = new Map<string, Promise<void>>();

  constructor(opts: { db: pg.Pool; restic: Restic } & BucketOptions) {
    this.#db = opts.db;
    this.#restic = opts.restic;
    this.#opts = { passwordFile: opts.passwordFile, baseDir: opts.baseDir ?? process.cwd() };
  }

  /** The region's bucket, created on first use (one process at a time per repository, across hosts). */
  async of(region: string): Promise<Bucket> {
    const passwordFile = this.#opts.passwordFile;
    if (passwordFile === null)
      throw new PermanentError(
        "backups are not configured: set LRO_RESTIC_PASSWORD_FILE to the file holding the buckets' password",
        'no_password',
      );
    const repository = await regionRepository(this.#db, region);
    if (repository === null) throw new NotFoundError(`backup region ${region}`);
    const bucket = { repository: resolveRepository(repository, this.#opts.baseDir), passwordFile };
    let ready = this.#ready.get(bucket.repository);
    if (!ready) {
      ready = this.#restic.ensureRepository(bucket, (fn) => withNamedLock(this.#db, `restic-init ${bucket.repository}`, fn));
      this.#ready.set(bucket.repository, ready);
      ready.catch(() => this.#ready.delete(bucket.repository)); // a failure is tried again next time
    }
    await ready;
    return bucket;
  }
}
