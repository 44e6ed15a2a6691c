import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The folder of numbered migrations, shipped with the package. */
export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

/** The numbered migration files in `sql/`, in order. */
async function migrationFiles(): Promise<string[]> {
  return (await readdir(SQL_DIR)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
}

/** Arbitrary constant: every lro process migrating the same database serialises on it. */
const MIGRATION_LOCK = 7_203_114_001;

export interface MigrationResult {
  applied: string[];
  current: number;
}

/**
 * Applies the numbered files in `sql/` that the database has not seen, each in its own
 * transaction, under a session advisory lock so that any number of processes may migrate at once:
 * the first applies, the others wait and then find nothing to do.
 */
export async function migrate(connectionString: string): Promise<MigrationResult> {
  const files = await migrationFiles();
  const client = new pg.Client({ connectionString, application_name: 'lro-migrate' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS lro_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ id: number }>('SELECT id FROM lro_migrations');
    const done = new Set(rows.map((r) => r.id));
    const applied: string[] = [];
    for (const file of files) {
      const id = Number.parseInt(file, 10);
      if (done.has(id)) continue;
      const text = await readFile(SQL_DIR + file, 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(text);
        await client.query('INSERT INTO lro_migrations (id, name) VALUES ($1, $2)', [id, file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(file);
      done.add(id);
    }
    return { applied, current: Math.max(0, ...done) };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    await client.end();
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
  shippedIds ??= migrationFiles().then((files) => files.map((f) => Number.parseInt(f, 10)));
  const ids = await shippedIds;
  const { rows } = await db.query<{ id: number }>('SELECT id FROM lro_migrations').catch((err) => {
    if ((err as { code?: string }).code === '42P01') return { rows: [] }; // undefined_table: never migrated
    throw err;
  });
  const applied = new Set(rows.map((r) => r.id));
  const current = Math.max(0, ...applied);
  const latest = Math.max(0, ...ids);
  const missing = ids.filter((id) => !applied.has(id));
  return { current, latest, missing, upToDate: missing.length === 0 && current === latest };
}
