import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import pg from 'pg';
import { Restic, ResticError, type Bucket } from '../src/backup/restic.js';
import { withNamedLock } from '../src/lro/sql/locks.js';
import { createTestDatabase } from './helpers/db.js';
import { startRestServer } from './helpers/rest-server.js';

// Real restic on real folders (Debian's restic 0.14 stands in for rustic: the same repository format).
const root = mkdtempSync(path.join(tmpdir(), 'lro-restic-'));
const passwordFile = path.join(root, 'password');
writeFileSync(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
const restic = new Restic();
const url = await createTestDatabase();
const bucketAt = (name: string, pw = passwordFile): Bucket => ({ repository: path.join(root, name), passwordFile: pw });

function dataDir(name: string, files: number, bytes: number): string {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, 'project'), { recursive: true });
  mkdirSync(path.join(dir, 'persist'), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(path.join(dir, i % 2 ? 'project' : 'persist', `f${i}`), randomBytes(bytes));
  return dir;
}

/** Whether a process with this pid is alive. */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('restic', () => {
  it('creates a local bucket on first use: creators racing without any lock make one repository', async () => {
    const bucket = bucketAt('raced-local');
    await Promise.all([0, 1, 2].map(() => restic.ensureRepository(bucket)));
    expect((await restic.run(bucket, ['list', 'keys'])).trim().split('\n')).toHaveLength(1); // one key: one init won
    await restic.ensureRepository(bucket); // and again: nothing to do
  });

  it('creates a network bucket (a REST server) on first use, hosts racing through a Postgres lock', async () => {
    const server = await startRestServer();
    onTestFinished(() => server.stop());
    const bucket: Bucket = { repository: server.url('raced'), passwordFile };
    // Three hosts: each its own connection pool on the one database.
    const hosts = [0, 1, 2].map(() => new pg.Pool({ connectionString: url, max: 1 }));
    try {
      await Promise.all(hosts.map((db) => restic.ensureRepository(bucket, (fn) => withNamedLock(db, bucket.repository, fn))));
    } finally {
      await Promise.all(hosts.map((db) => db.end()));
    }
    expect((await restic.run(bucket, ['list', 'keys'])).trim().split('\n')).toHaveLength(1);
  });

  it('backs up with JSON progress lines and a summary naming the snapshot', async () => {
    const bucket = bucketAt('progress');
    await restic.ensureRepository(bucket);
    const messages: Record<string, unknown>[] = [];
    await restic.run(bucket, ['backup', '--json', '--tag', 'layout=v2', 'project', 'persist'], {
      cwd: dataDir('progress-data', 20, 50_000),
      onJson: (m) => messages.push(m),
    });
    const summary = messages.find((m) => m.message_type === 'summary')!;
    expect(summary).toMatchObject({ files_new: 20, total_files_processed: 20, snapshot_id: expect.stringMatching(/^[0-9a-f]{8}/) });
    expect(messages.some((m) => m.message_type === 'status')).toBe(true);
  });

  it('tells a missing bucket, a wrong password and an unknown snapshot apart, none of them retryable', async () => {
    const missing = await restic.run(bucketAt('nothing-here'), ['snapshots']).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'no_repository', retryable: false });
    const bucket = bucketAt('guarded');
    await restic.ensureRepository(bucket);
    const wrongFile = path.join(root, 'wrong-password');
    writeFileSync(wrongFile, 'not it\n');
    const wrong = await restic.run(bucketAt('guarded', wrongFile), ['snapshots']).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(ResticError);
    expect(wrong).toMatchObject({ code: 'wrong_password', retryable: false });
    expect((wrong as Error).message).not.toContain('correct horse'); // the password is never in a message
    const unknown = await restic.run(bucket, ['restore', 'deadbeef', '--target', path.join(root, 'out')]).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'snapshot_not_found', retryable: false });
  });

  it('a cancel ends restic, leaves no lock and no damage: check passes and the next backup succeeds', async () => {
    const bucket = bucketAt('canceled');
    await restic.ensureRepository(bucket);
    const cwd = dataDir('canceled-data', 40, 500_000);
    const ac = new AbortController();
    let pid = 0;
    const statuses: number[] = [];
    const run = restic.run(bucket, ['backup', '--json', '--limit-upload', '512', 'project', 'persist'], {
      cwd,
      signal: ac.signal,
      onSpawn: (p) => (pid = p),
      onJson: (m) => {
        if (m.message_type !== 'status') return;
        statuses.push(Number(m.percent_done));
        if (statuses.length === 2) ac.abort(); // mid-backup: about 20 MB at 512 KiB/s takes ~40 s
      },
    });
    const err = await run.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'canceled' });
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    expect(await restic.run(bucket, ['list', 'locks'])).toBe('');
    await restic.run(bucket, ['check']);
    const messages: Record<string, unknown>[] = [];
    await restic.run(bucket, ['backup', '--json', 'project', 'persist'], { cwd, onJson: (m) => messages.push(m) });
    expect(messages.at(-1)).toMatchObject({ message_type: 'summary', total_files_processed: 40 });
  });
});
