/** The file-system side of restores: paths callers name, staging folders, bytes written so far. */
import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/**
 * A path a caller names inside a snapshot or a project: relative, no `..`, no NUL, at most 1,000
 * characters; normalised (`a//b/` → `a/b`). `''` and `.` mean the root.
 */
export const RelativePath = z
  .string()
  .max(1000)
  .refine((p) => !p.includes('\0'), 'must not contain NUL')
  .refine((p) => !path.isAbsolute(p), 'must be relative (no leading /)')
  .refine((p) => !p.split(/[\\/]+/).includes('..'), 'must not contain ..')
  .transform((p) => path.posix.normalize(p.replaceAll('\\', '/')).replace(/\/+$/, '').replace(/^\.$/, ''));

/** Each entry under `dir` (not `dir` itself), with its lstat; nothing when `dir` is not there. */
async function walk(dir: string, each: (st: Stats) => void): Promise<void> {
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      const st = await lstat(p).catch(() => null);
      if (st) each(st);
    }
  }
}

/** Bytes in regular files under `dir` (0 when it is not there): how much a restore has written. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  await walk(dir, (st) => st.isFile() && (total += st.size));
  return total;
}

/**
 * The newest modification under the folders (files, links and folders: a deletion changes its
 * folder's mtime), or null when they hold nothing. What `last_edited` learns from a project's roots.
 */
export async function newestChange(dirs: string[]): Promise<Date | null> {
  let newest = 0;
  for (const dir of dirs) {
    const top = await lstat(dir).catch(() => null);
    if (top) newest = Math.max(newest, top.mtimeMs);
    await walk(dir, (st) => (newest = Math.max(newest, st.mtimeMs)));
  }
  return newest ? new Date(newest) : null;
}

/** Moves `from` to `to`, replacing whatever is at `to` (same file system: each step a rename). */
export async function replaceWith(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  const old = `${to}.lro-old-${process.pid}-${Date.now()}`;
  const had = await rename(to, old).then(
    () => true,
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? false : Promise.reject(err)),
  );
  try {
    await rename(from, to);
  } catch (err) {
    if (had) await rename(old, to); // put it back: nothing lost
    throw err;
  }
  if (had) await rm(old, { recursive: true, force: true });
}
