import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { databaseUrl } from './helpers/urls.js';

const run = promisify(execFile);
const BIN = new URL('../bin/lro.js', import.meta.url).pathname;
const FILES = readdirSync(new URL('../sql/', import.meta.url)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();

const admin = new pg.Client({ connectionString: inject('adminUrl') });
await admin.connect();
const name = `lro_migrate_${process.pid}`;
await admin.query(`DROP DATABASE IF EXISTS ${name}`);
await admin.query(`CREATE DATABASE ${name}`);
const url = databaseUrl(inject('adminUrl'), name);
afterAll(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

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
