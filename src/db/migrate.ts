import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrationIds, migrationInsert, migrationsBackfillChecksums, migrationsBootstrap, migrationsList } from './sql/migrations.js';

/** The folder of numbered migrations, shipped with the package. */
export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

/** A numbered file of `sql/`, read once: its bytes' sha256 is what the database records. */
interface MigrationFile {
  id: number;
  name: string;
  text: string;
  checksum: string;
}

/** The numbered migration file names in `dir`, in order. */
async function migrationFileNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
}

/** The numbered migration files in `dir`, in order, with their checksums. */
async function migrationFiles(dir: string): Promise<MigrationFile[]> {
  return Promise.all(
    (await migrationFileNames(dir)).map(async (name) => {
      const bytes = await readFile(path.join(dir, name));
      const checksum = createHash('sha256').update(bytes).digest('hex');
      return { id: Number.parseInt(name, 10), name, text: bytes.toString('utf8'), checksum };
    }),
  );
}

/** Arbitrary constant: every lro process migrating the same database serialises on it. */
const MIGRATION_LOCK = 7_203_114_001;

/** One applied migration whose file is no longer the file that was applied. */
export interface ChangedMigration {
  file: string;
  /** The sha256 the database recorded when it applied (or first checksummed) the file. */
  recorded: string;
  /** The sha256 of the file as it is now. */
  current: string;
}

/**
 * A migration the database has applied was edited since: the schema it describes is not the schema
 * the database has, so lro refuses to start rather than run against a schema nobody wrote down.
 * The fix is to restore the file and put the change in a new numbered migration.
 */
export class MigrationChangedError extends Error {
  readonly code = 'migration_changed';
  readonly changed: ChangedMigration[];
  constructor(changed: ChangedMigration[]) {
    const list = changed.map((c) => `sql/${c.file} (applied with sha256 ${c.recorded}, the file now has sha256 ${c.current})`);
    const what = changed.length > 1 ? 'migrations were edited after they were applied' : 'a migration was edited after it was applied';
    super(`${what}: ${list.join('; ')}. Restore the file and put the change in a new numbered migration: applied migrations never change.`);
    this.name = 'MigrationChangedError';
    this.changed = changed;
  }
}

export interface MigrateOptions {
  /** The folder of numbered files. @default SQL_DIR, the package's sql/ */
  dir?: string;
}

export interface MigrationResult {
  applied: string[];
  current: number;
  /** Files applied before checksums were recorded, whose checksum this run recorded from the file. */
  backfilled: string[];
}

/**
 * Applies the numbered files in `sql/` that the database has not seen, each in its own
 * transaction, under a session advisory lock so that any number of processes may migrate at once:
 * the first applies, the others wait and then find nothing to do. Each file's sha256 is recorded as
 * it is applied; an applied file whose bytes differ from that record refuses the whole run
 * ({@link MigrationChangedError}) before anything is applied. Rows applied before checksums were
 * kept take the file's checksum as it is now (sql/002 and sql/004 were edited long ago: databases
 * that applied the older text just record the current one).
 */
export async function migrate(connectionString: string, opts: MigrateOptions = {}): Promise<MigrationResult> {
  const files = await migrationFiles(opts.dir ?? SQL_DIR);
  const client = new pg.Client({ connectionString, application_name: 'lro-migrate' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrationsBootstrap(client);
    const rows = await migrationsList(client);
    const byId = new Map(files.map((f) => [f.id, f]));
    const changed = rows.flatMap((row) => {
      const file = byId.get(row.id);
      return file && row.checksum !== null && row.checksum !== file.checksum
        ? [{ file: file.name, recorded: row.checksum, current: file.checksum }]
        : [];
    });
    if (changed.length > 0) throw new MigrationChangedError(changed);

    const unsummed = rows.filter((r) => r.checksum === null && byId.has(r.id)).map((r) => byId.get(r.id)!);
    const filled = await migrationsBackfillChecksums(client, {
      ids: unsummed.map((f) => f.id),
      checksums: unsummed.map((f) => f.checksum),
    });
    const done = new Set(rows.map((r) => r.id));
    const applied: string[] = [];
    for (const file of files.filter((f) => !done.has(f.id))) {
      await applyOne(client, file);
      applied.push(file.name);
      done.add(file.id);
    }
    return { applied, current: Math.max(0, ...done), backfilled: filled.map((id) => byId.get(id)!.name) };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    await client.end();
  }
}

/** Runs one file and records it, with its checksum, in one transaction. */
async function applyOne(client: pg.Client, file: MigrationFile): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(file.text);
    await migrationInsert(client, { id: file.id, name: file.name, checksum: file.checksum });
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw new Error(`migration ${file.name} failed: ${(err as Error).message}`, { cause: err });
  }
}

export interface MigrationStatus {
  /** The newest migration the database has applied (0 for none). */
  current: number;
  /** The newest file in `sql/`. */
  latest: number;
  /** Files in `sql/` the database has not applied. */
  missing: number[];
  /** Every file applied, and nothing newer than the files: this code and this database agree. */
  upToDate: boolean;
}

let shippedIds: Promise<number[]> | undefined;

/**
 * Whether the database is at the schema this code ships (for `/readyz`). The files are read once
 * per process; a database never migrated (no `lro_migrations`) is at 0. Throws when the query fails.
 */
export async function migrationStatus(db: Pick<pg.Pool, 'query'>): Promise<MigrationStatus> {
  shippedIds ??= migrationFileNames(SQL_DIR).then((files) => files.map((f) => Number.parseInt(f, 10)));
  const ids = await shippedIds;
  const appliedIds = await migrationIds(db).catch((err) => {
    if ((err as { code?: string }).code === '42P01') return []; // undefined_table: never migrated
    throw err;
  });
  const applied = new Set(appliedIds);
  const current = Math.max(0, ...applied);
  const latest = Math.max(0, ...ids);
  const missing = ids.filter((id) => !applied.has(id));
  return { current, latest, missing, upToDate: missing.length === 0 && current === latest };
}
