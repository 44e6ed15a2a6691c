/**
 * restic, run as a child process (execa): a clean environment, the password from a file (never on a
 * command line, never in the database), a timeout, and a cancel that ends restic and everything it
 * started (its process group) and then removes the lock the kill left behind. restic 0.14 exits 1
 * for every fatal error, so failures are told apart by what it printed (`ResticError.code`).
 */
import { execa, type ResultPromise } from 'execa';
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** One region's bucket: a restic repository URL and the file holding its password. */
export interface Bucket {
  repository: string;
  passwordFile: string;
}

export type ResticErrorCode =
  | 'no_repository'
  | 'wrong_password'
  | 'snapshot_not_found'
  | 'repository_locked'
  | 'no_space'
  | 'not_writable'
  | 'timeout'
  | 'canceled'
  | 'restic_failed';

/**
 * What restic said, classified; `code` becomes the op's error code. `retryable` is false where
 * running it again cannot help.
 */
export class ResticError extends Error {
  readonly code: ResticErrorCode;
  readonly retryable: boolean;
  constructor(code: ResticErrorCode, message: string) {
    super(message);
    this.name = 'ResticError';
    this.code = code;
    this.retryable = !['no_repository', 'wrong_password', 'snapshot_not_found', 'no_space', 'not_writable', 'canceled'].includes(code);
  }
}

/** restic's stderr lines that name a cause, first match wins. */
const CAUSES: [RegExp, ResticErrorCode, string][] = [
  [/Is there a repository at the following location\?|unable to open config file/, 'no_repository', 'the bucket has no restic repository'],
  [/wrong password or no key found/, 'wrong_password', 'the bucket refused the password'],
  [/no matching ID found|no snapshot found/, 'snapshot_not_found', 'no such snapshot'],
  [/repository is already locked/, 'repository_locked', 'the bucket is locked by another restic'],
  [/no space left on device/, 'no_space', 'no space left on the device'],
  [/read-only file system|permission denied/, 'not_writable', 'a folder restic must write is not writable'],
];

export function classify(stderr: string): ResticError {
  const last = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ').slice(0, 500);
  for (const [re, code, what] of CAUSES) if (re.test(stderr)) return new ResticError(code, `${what}: ${last}`);
  return new ResticError('restic_failed', `restic failed: ${last || 'no output'}`);
}

const LOCK_WAIT_MS = 10 * 60_000;

export interface RunOptions {
  cwd?: string;
  signal?: AbortSignal;
  /** @default 6 hours */
  timeoutMs?: number;
  /** Each JSON line restic prints on stdout (`--json`), as it comes. */
  onJson?: (message: Record<string, unknown>) => void;
  /** How long a bucket locked by another restic is waited for. @default 10 minutes */
  lockWaitMs?: number;
  /** restic's pid, once it runs (a cancel ends its whole process group). */
  onSpawn?: (pid: number) => void;
}

/** How long restic gets to end after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 3000;

export class Restic {
  readonly #binary: string;
  readonly #cacheDir: string | undefined;

  /**
   * @param opts.binary @default 'restic' (on PATH)
   * @param opts.cacheDir restic's cache (RESTIC_CACHE_DIR) @default none: `--no-cache`
   */
  constructor(opts: { binary?: string; cacheDir?: string } = {}) {
    this.#binary = opts.binary ?? 'restic';
    this.#cacheDir = opts.cacheDir;
  }

  /**
   * Runs `restic <args>` on the bucket; resolves with its stdout (not parsed when `onJson` takes it).
   * A bucket locked by another restic (a prune, a forget: their locks are exclusive) is waited for,
   * trying again with backoff for up to `lockWaitMs` (restic 0.14 has no `--retry-lock`).
   * @throws ResticError
   */
  async run(bucket: Bucket, args: string[], opts: RunOptions = {}): Promise<string> {
    const deadline = Date.now() + (opts.lockWaitMs ?? LOCK_WAIT_MS);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#runOnce(bucket, args, opts);
      } catch (err) {
        if (!(err instanceof ResticError) || err.code !== 'repository_locked' || Date.now() >= deadline) throw err;
        const delay = Math.min(5000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);
        await new Promise((resolve) => setTimeout(resolve, delay));
        opts.signal?.throwIfAborted();
      }
    }
  }

  async #runOnce(bucket: Bucket, args: string[], opts: RunOptions): Promise<string> {
    opts.signal?.throwIfAborted();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      RESTIC_REPOSITORY: bucket.repository,
      RESTIC_PASSWORD_FILE: bucket.passwordFile,
      // `--json` status lines: 5 a second draw a live bar; restic's 60 cost the op's stream more than they show.
      RESTIC_PROGRESS_FPS: '5',
      ...(this.#cacheDir ? { RESTIC_CACHE_DIR: this.#cacheDir } : {}),
    };
    const child = execa(this.#binary, [...(this.#cacheDir ? [] : ['--no-cache']), ...args], {
      cwd: opts.cwd,
      env,
      extendEnv: false,
      detached: true, // its own process group: a cancel ends whatever restic started too
      reject: false,
      stdin: 'ignore',
      buffer: { stdout: !opts.onJson, stderr: true },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    if (opts.onJson) readJson(child, opts.onJson);
    let ended: ResticErrorCode | null = null;
    const end = (why: ResticErrorCode) => {
      if (ended) return;
      ended = why;
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const onAbort = () => end('canceled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => end('timeout'), opts.timeoutMs ?? 6 * 3600_000);
    timer.unref();
    try {
      const result = await child;
      if (ended) {
        await this.unlock(bucket).catch(() => {}); // the kill leaves its lock behind
        throw new ResticError(ended, ended === 'canceled' ? 'restic was canceled' : 'restic ran past its timeout');
      }
      if (result.exitCode !== 0) throw classify(String(result.stderr ?? ''));
      return String(result.stdout ?? '');
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Removes locks whose restic is gone (a killed run's). */
  async unlock(bucket: Bucket): Promise<void> {
    await this.run(bucket, ['unlock'], { lockWaitMs: 0 });
  }

  /**
   * Makes sure the bucket is a restic repository, creating it on first use. restic's `init` is not
   * safe against itself: two at once on one bucket can leave two keys and one config, which the
   * loser's key cannot open ("config or key … is damaged"). A local folder is created beside its
   * place and renamed into it (a rename onto a folder that has content fails, so exactly one wins,
   * whoever runs it); any other bucket is created inside `serialize`, which must let one process at a
   * time in per bucket across every host (the hosts pass a Postgres advisory lock named by it).
   */
  async ensureRepository(bucket: Bucket, serialize: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()): Promise<void> {
    const exists = () =>
      this.run(bucket, ['cat', 'config']).then(
        () => true,
        (err: unknown) => (err instanceof ResticError && err.code === 'no_repository' ? false : Promise.reject(err)),
      );
    if (await exists()) return;
    if (!path.isAbsolute(bucket.repository)) {
      await serialize(async () => {
        if (!(await exists())) await this.run(bucket, ['init']);
      });
      return;
    }
    const staged = `${bucket.repository}.init-${process.pid}-${randomUUID().slice(0, 8)}`;
    await mkdir(path.dirname(bucket.repository), { recursive: true });
    try {
      await this.run({ ...bucket, repository: staged }, ['init']);
      await rmdir(bucket.repository).catch(() => {}); // an empty folder made ahead (rmdir refuses one with content)
      await rename(staged, bucket.repository).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
        if (!(await exists())) throw err; // something else is in the way
      });
    } finally {
      await rm(staged, { recursive: true, force: true });
    }
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function readJson(child: ResultPromise, onJson: (message: Record<string, unknown>) => void): void {
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    if (!line.startsWith('{')) return;
    try {
      onJson(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a partial or foreign line: restic's progress is advisory
    }
  });
}
