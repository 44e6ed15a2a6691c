/** The file-system side of restores: paths callers name, staging folders, bytes written so far. */
import { constants } from 'node:fs';
import { access, lstat, mkdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import path from 'node:path';
import { z } from 'zod';
import { PermanentError } from '../workers/abort.js';

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

/** Whether `p` is a folder (following a link); false when it is not there. */
export const isDir = async (p: string): Promise<boolean> => (await stat(p).catch(() => null))?.isDirectory() ?? false;

/**
 * One number per entry under the folders that exist (`find … -printf <format>`), folded as they come.
 * `find` walks 100,000 files in ~0.4 s; readdir and an lstat per entry from Node took 12 s (each lstat
 * a trip through libuv's thread pool): `bench/freshness-scan.ts`.
 */
async function foldFind(dirs: string[], args: string[], fold: (n: number) => void): Promise<void> {
  const present = (await Promise.all(dirs.map(async (d) => ((await lstat(d).catch(() => null))?.isDirectory() ? d : null)))).filter(
    (d): d is string => d !== null,
  );
  if (present.length === 0) return;
  const child = execa('find', [...present, ...args], { stdin: 'ignore', buffer: false, reject: false, stderr: 'ignore' });
  for await (const line of createInterface({ input: child.stdout! })) if (line) fold(Number(line));
  await child;
}

/** Bytes in regular files under `dir` (0 when it is not there): how much a restore has written. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  await foldFind([dir], ['-type', 'f', '-printf', '%s\\n'], (n) => (total += n));
  return total;
}

/**
 * The newest modification under the folders, themselves included (files, links and folders: a
 * deletion changes its folder's mtime), or null when none exists. What `last_edited` learns from a
 * project's roots.
 */
export async function newestChange(dirs: string[]): Promise<Date | null> {
  let newest = 0;
  await foldFind(dirs, ['-printf', '%T@\\n'], (t) => (newest = Math.max(newest, t * 1000)));
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

/**
 * A modification under the folders newer than `since` (the first `find` meets; it stops there), or
 * null when nothing changed. Cheap when something did; a full walk of names when nothing did.
 */
export async function changeSince(dirs: string[], since: Date): Promise<Date | null> {
  let found = 0;
  // `since` came from a mtime cut to whole milliseconds (a Date's precision): past that millisecond.
  const after = `@${((since.getTime() + 1) / 1000).toFixed(3)}`;
  await foldFind(dirs, ['-newermt', after, '-printf', '%T@\\n', '-quit'], (t) => (found = t * 1000));
  return found ? new Date(found) : null;
}

/**
 * Throws the file system's refusal (EROFS, EACCES) when `dir`, or the nearest folder above it that
 * exists, cannot be written: asked before anything is written, since a recursive mkdir on a
 * read-only mount answers only ENOENT.
 */
export async function assertWritable(dir: string): Promise<void> {
  let at = dir;
  while (!(await lstat(at).catch(() => null)) && path.dirname(at) !== at) at = path.dirname(at);
  await access(at, constants.W_OK);
}

/**
 * Bytes a running process has written so far (`wchar` of /proc/<pid>/io: every write call, the
 * files it restores above all), or null when that cannot be read (not Linux, the process gone).
 * One small read: the measure of a restore's progress, where a walk of the files written would
 * cost a find per report.
 */
export async function bytesWrittenBy(pid: number): Promise<number | null> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => null);
  const wchar = io?.match(/^wchar:\s*(\d+)/m)?.[1];
  return wchar === undefined ? null : Number(wchar);
}

/**
 * A change under the folders after `seenUntil` (the later of `last_edited` and the last backup):
 * the first newer one `find` meets (it stops there; nothing is printed while nothing is newer), so
 * any answer makes the project stale, the one fact freshness needs; with nothing known yet, the
 * newest. What moves `last_edited` forward before a backup, a stop, and in a running project's watch.
 */
export function unseenChange(dirs: string[], seenUntil: Date | null): Promise<Date | null> {
  return seenUntil ? changeSince(dirs, seenUntil) : newestChange(dirs);
}

/**
 * `rel` under `root`, refused (`outside_project`) when a symlink on its way leads out of `root`: a
 * project's link to /etc must not let a copy read the host's files, nor a restore or a copy write
 * outside the project. The deepest part that exists is resolved; what does not exist yet is no link.
 */
export async function confined(root: string, rel: string): Promise<string> {
  const full = path.join(root, rel);
  const realRoot = await realpath(root).catch(() => path.resolve(root));
  let at = full;
  while (at !== root && path.dirname(at) !== at && !(await lstat(at).catch(() => null))) at = path.dirname(at);
  const real = await realpath(at).catch(() => path.resolve(at));
  if (real !== realRoot && !real.startsWith(`${realRoot}${path.sep}`)) {
    throw new PermanentError(`${rel} leads outside the project (to ${real}) through a symbolic link: refused`, 'outside_project');
  }
  return full;
}
