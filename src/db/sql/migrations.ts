import type pg from 'pg';

/** Anything that runs a query: a client, a pool, a pool's client. */
type Db = Pick<pg.ClientBase, 'query'>;

/** One row of `lro_migrations`: a file applied, and the sha256 of its bytes when it was. */
export interface MigrationRow {
  id: number;
  name: string;
  /** Hex sha256; null for rows applied before checksums were recorded, until migrate backfills them. */
  checksum: string | null;
}

/**
 * Creates the migrations table when missing and gives an older one its `checksum` column. The table
 * is the one thing no numbered file can create, so it is bootstrapped here, idempotently.
 */
export async function migrationsBootstrap(db: Db): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS lro_migrations (
    id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  await db.query(`ALTER TABLE lro_migrations ADD COLUMN IF NOT EXISTS checksum text
    CHECK (checksum ~ '^[0-9a-f]{64}$')`);
}

/** Every applied migration, oldest first. */
export async function migrationsList(db: Db): Promise<MigrationRow[]> {
  const { rows } = await db.query<MigrationRow>('SELECT id, name, checksum FROM lro_migrations ORDER BY id');
  return rows;
}

/** The ids of the applied migrations (for readiness: a never-migrated database throws 42P01). */
export async function migrationIds(db: Db): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>('SELECT id FROM lro_migrations');
  return rows.map((r) => r.id);
}

/** Records a file as applied, with its checksum. */
export async function migrationInsert(db: Db, p: { id: number; name: string; checksum: string }): Promise<void> {
  await db.query('INSERT INTO lro_migrations (id, name, checksum) VALUES ($1, $2, $3)', [p.id, p.name, p.checksum]);
}

/**
 * Records the checksums of rows applied before checksums were kept, from the files as they are now
 * (the only record there is). Rows that already have one are left alone. Returns the ids filled in.
 */
export async function migrationsBackfillChecksums(db: Db, p: { ids: number[]; checksums: string[] }): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `UPDATE lro_migrations m SET checksum = f.checksum
       FROM unnest($1::int[], $2::text[]) AS f(id, checksum)
      WHERE m.id = f.id AND m.checksum IS NULL
     RETURNING m.id`,
    [p.ids, p.checksums],
  );
  return rows.map((r) => r.id).sort((a, b) => a - b);
}
