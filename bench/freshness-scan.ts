/**
 * What the freshness scans cost (`newestChange`, run by a host before a project's stop and backup;
 * `changeSince`, the watch of a running project, over a tree with nothing new: its worst case):
 * N files in nested folders, the scan timed against `find -printf '%T@'` over the same tree (the
 * plain tool's floor), alternating, medians.
 * Usage: npx tsx bench/freshness-scan.ts [--files 100000] [--rounds 5]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { changeSince, newestChange } from '../src/backup/files.js';
import { machineContext, median } from './lib.js';

const { values: args } = parseArgs({ options: { files: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' } } });
const FILES = Number(args.files);
const ROUNDS = Number(args.rounds);

const root = mkdtempSync(path.join(tmpdir(), 'lro-scan-'));
const PER_DIR = 100;
for (let i = 0; i < FILES; i++) {
  const dir = path.join(root, 'project', `d${Math.floor(i / PER_DIR / 50)}`, `e${Math.floor(i / PER_DIR) % 50}`);
  if (i % PER_DIR === 0) mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `f${i}.txt`), 'x');
}
const lro: number[] = [];
const watch: number[] = [];
const find: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  let t0 = performance.now();
  await newestChange([path.join(root, 'project')]);
  lro.push(performance.now() - t0);
  t0 = performance.now();
  await changeSince([path.join(root, 'project')], new Date(Date.now() + 3_600_000));
  watch.push(performance.now() - t0);
  t0 = performance.now();
  execFileSync('sh', ['-c', `find ${path.join(root, 'project')} -printf '%T@\\n' | sort -n | tail -1`]);
  find.push(performance.now() - t0);
}
rmSync(root, { recursive: true, force: true });
const perFile = (ms: number[]) => ((median(ms) * 1000) / FILES).toFixed(2);
console.log(`Machine: ${await machineContext()}`);
console.log(`${FILES} files in ${FILES / PER_DIR} folders, ${ROUNDS} alternating rounds, medians (warm cache).\n`);
console.log('| scan | ms | µs per file | × find |');
console.log('|---|---|---|---|');
const vsFind = (ms: number[]) => (median(ms) / median(find)).toFixed(2);
console.log(`| newestChange (lro) | ${median(lro).toFixed(0)} | ${perFile(lro)} | ${vsFind(lro)} |`);
console.log(`| changeSince, nothing new (the watch) | ${median(watch).toFixed(0)} | ${perFile(watch)} | ${vsFind(watch)} |`);
console.log(`| find -printf %T@ \\| sort \\| tail | ${median(find).toFixed(0)} | ${perFile(find)} | 1.00 |`);
