/**
 * A move of a ~1 GiB project to another host (project-move: stop, backup, placement, start with
 * restore) against the backup and the restore it is made of, run as two ops, alternating by round.
 * Each measurement starts from the same files, copied in, never backed up, with a fresh bucket.
 * Usage: npx tsx bench/move.ts [--mib 1024] [--rounds 3] [--dir /tmp]
 */
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fillFolder, openPlatform } from './platform.js';
import { machineContext, median } from './lib.js';

const { values: args } = parseArgs({
  options: {
    mib: { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: tmpdir() },
  },
});
const MIB = Number(args.mib);

const p = await openPlatform('move', args.dir);
const [a, b] = [await p.host('host-a'), await p.host('host-b')];
const template = path.join(p.base, 'template');
const files = fillFolder(path.join(template, 'project'), MIB / 2, 16) + fillFolder(path.join(template, 'persist'), MIB / 2, 64 * 1024);
let buckets = 0;

/** A project on host A holding the template's files, never backed up, with a bucket of its own. */
async function freshProject() {
  const project = await p.project(a.host_id);
  const dir = path.join(a.dataDir, 'projects', project.project_id);
  execFileSync('mkdir', ['-p', path.dirname(dir)]);
  execFileSync('cp', ['-a', template, dir]);
  await p.lro.db.query(`UPDATE backup_regions SET repository = $1 WHERE region = 'local'`, [`file:bucket-${buckets++}`]);
  await p.lro.backups!.buckets.of('local');
  execFileSync('sync');
  return { type: 'project' as const, id: project.project_id };
}
const timed = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
};

const rows = { move: [] as number[], parts: [] as number[] };
for (let r = 0; r < Number(args.rounds); r++) {
  const move = async () => {
    const scope = await freshProject();
    rows.move.push(await timed(() => p.run('project-move', scope, { dest_host_id: b.host_id })));
  };
  const parts = async () => {
    const scope = await freshProject();
    rows.parts.push(
      await timed(async () => {
        await p.run('project-backup', scope);
        await p.lro.db.query(`UPDATE projects SET host_id = $2 WHERE project_id = $1`, [scope.id, b.host_id]);
        await p.run('project-start', scope, { restore: 'auto' });
      }),
    );
  };
  for (const step of r % 2 === 0 ? [move, parts] : [parts, move]) await step();
  console.error(`round ${r + 1}: move ${rows.move.at(-1)!.toFixed(1)} s, backup + restore ${rows.parts.at(-1)!.toFixed(1)} s`);
}
await p.close();

console.log(`Machine: ${await machineContext()}`);
console.log(`${MIB} MiB in ${files} files (half in 16 KiB files, half in 64 MiB ones), ${args.rounds} alternating rounds, medians.\n`);
console.log('| operation | wall | ratio |');
console.log('|---|---|---|');
console.log(
  `| project-move (stop, backup, place, start with restore) | ${median(rows.move).toFixed(1)} s | ` +
    `${(median(rows.move) / median(rows.parts)).toFixed(3)} |`,
);
console.log(`| project-backup, then project-start on the other host | ${median(rows.parts).toFixed(1)} s | 1.000 |`);
