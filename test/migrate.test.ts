import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { migrate, MigrationChangedError, SQL_DIR } from '../src/db/migrate.js';
import { databaseUrl } from './helpers/urls.js';

const run = promisify(execFile);
const BIN = new URL('../bin/lro.js', import.meta.url).pathname;
const FILES = readdirSync(new URL('../sql/', import.meta.url))
  .filter((f) => /^\d+_.+\.sql$/.test(f))
  .sort();

const admin = new pg.Client({ connectionString: inject('adminUrl') });
await admin.connect();
const name = `lro_migrate_${process.pid}`;
await admin.query(`DROP DATABASE IF EXISTS ${name}`);
await admin.query(`CREATE DATABASE ${name}`);
const url = databaseUrl(inject('adminUrl'), name);
const sumsName = `lro_migrate_sums_${process.pid}`;
await admin.query(`DROP DATABASE IF EXISTS ${sumsName}`);
await admin.query(`CREATE DATABASE ${sumsName}`);
const sumsUrl = databaseUrl(inject('adminUrl'), sumsName);
const scratch = mkdtempSync(path.join(tmpdir(), 'lro-sql-'));
afterAll(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`DROP DATABASE IF EXISTS ${sumsName} WITH (FORCE)`);
  await admin.end();
  rmSync(scratch, { recursive: true, force: true });
});

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A fresh copy of the shipped sql/ folder to edit. */
function sqlCopy(label: string): string {
  const dir = path.join(scratch, label);
  cpSync(SQL_DIR, dir, { recursive: true });
  return dir;
}

async function recorded(url: string): Promise<{ id: number; name: string; checksum: string | null }[]> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return (await db.query('SELECT id, name, checksum FROM lro_migrations ORDER BY id')).rows;
  } finally {
    await db.end();
  }
}

async function sql(url: string, text: string): Promise<void> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  await db.query(text).finally(() => db.end());
}

describe('lro migrate', () => {
  it('two processes migrating an empty database at once both succeed; one applies, one finds it done', async () => {
    const env = { ...process.env, DATABASE_URL: url };
    const outputs = await Promise.all([run(process.execPath, [BIN, 'migrate'], { env }), run(process.execPath, [BIN, 'migrate'], { env })]);
    const said = outputs.map((o) => o.stdout.trim()).sort();
    expect(said).toEqual([`applied ${FILES.join(', ')}`, `up to date (version ${Number.parseInt(FILES.at(-1)!, 10)})`]);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const { rows } = await db.query('SELECT id, name FROM lro_migrations ORDER BY id');
    await db.end();
    expect(rows).toEqual(FILES.map((name) => ({ id: Number.parseInt(name, 10), name }))); // numbers may skip one
  });

  it('a bad DATABASE_URL is a clear error and a non-zero exit', async () => {
    const err = await run(process.execPath, [BIN, 'migrate'], { env: { ...process.env, DATABASE_URL: 'mysql://x' } }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('DATABASE_URL: must be a postgres:// URL');
    expect(err.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('migrations never change after they land', () => {
  it('a fresh database records the sha256 of each file it applies', async () => {
    const result = await migrate(sumsUrl);
    expect(result.applied).toEqual(FILES);
    expect(await recorded(sumsUrl)).toEqual(
      FILES.map((f) => ({ id: Number.parseInt(f, 10), name: f, checksum: sha256(path.join(SQL_DIR, f)) })),
    );
  });

  it('the same files again: nothing to do, nothing refused', async () => {
    expect(await migrate(sumsUrl, { dir: sqlCopy('unchanged') })).toEqual({
      applied: [],
      backfilled: [],
      current: Number.parseInt(FILES.at(-1)!, 10),
    });
  });

  it('an applied file edited: refused before anything is applied, naming the file and both checksums', async () => {
    const dir = sqlCopy('edited');
    const edited = FILES[1]!;
    const before = sha256(path.join(dir, edited));
    appendFileSync(path.join(dir, edited), '\n-- an afterthought\n');
    const after = sha256(path.join(dir, edited));
    writeFileSync(path.join(dir, '900_later.sql'), 'CREATE TABLE migrate_test_later (id int);\n');

    const err = await migrate(sumsUrl, { dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationChangedError);
    expect(err).toMatchObject({ code: 'migration_changed', changed: [{ file: edited, recorded: before, current: after }] });
    expect((err as Error).message).toContain(`sql/${edited} (applied with sha256 ${before}, the file now has sha256 ${after})`);
    expect((err as Error).message).toContain('put the change in a new numbered migration');
    expect((await recorded(sumsUrl)).map((r) => r.name)).toEqual(FILES); // the new file waited
  });

  it('a new file is applied and recorded with its checksum', async () => {
    const dir = sqlCopy('added');
    writeFileSync(path.join(dir, '900_later.sql'), 'CREATE TABLE migrate_test_later (id int);\n');
    const result = await migrate(sumsUrl, { dir });
    expect(result).toEqual({ applied: ['900_later.sql'], backfilled: [], current: 900 });
    expect((await recorded(sumsUrl)).at(-1)).toEqual({ id: 900, name: '900_later.sql', checksum: sha256(path.join(dir, '900_later.sql')) });
  });

  it('a database migrated before checksums were kept (sql/002 and sql/004 edited since) is backfilled, not refused', async () => {
    // What such a database looks like: the table without its checksum column.
    await sql(sumsUrl, 'ALTER TABLE lro_migrations DROP COLUMN checksum; DELETE FROM lro_migrations WHERE id = 900');
    const result = await migrate(sumsUrl);
    expect(result).toEqual({ applied: [], backfilled: FILES, current: Number.parseInt(FILES.at(-1)!, 10) });
    expect(await recorded(sumsUrl)).toEqual(
      FILES.map((f) => ({ id: Number.parseInt(f, 10), name: f, checksum: sha256(path.join(SQL_DIR, f)) })),
    );
    // And from then on they are held to those bytes.
    const dir = sqlCopy('edited-after-backfill');
    appendFileSync(path.join(dir, FILES[3]!), '\n');
    await expect(migrate(sumsUrl, { dir })).rejects.toThrow(
      `sql/${FILES[3]} (applied with sha256 ${sha256(path.join(SQL_DIR, FILES[3]!))}`,
    );
  });

  it('lro migrate (and every command that migrates) exits 5 naming the file when an applied migration changed', async () => {
    // The recorded checksum no longer matches the shipped file: what an edit of an applied file looks like.
    await sql(sumsUrl, `UPDATE lro_migrations SET checksum = repeat('0', 64) WHERE id = ${Number.parseInt(FILES[1]!, 10)}`);
    const err = await run(process.execPath, [BIN, 'migrate'], { env: { ...process.env, DATABASE_URL: sumsUrl } }).catch((e) => e);
    expect(err.code).toBe(5);
    expect(err.stderr).toContain(`sql/${FILES[1]} (applied with sha256 ${'0'.repeat(64)}`);
  });
});
