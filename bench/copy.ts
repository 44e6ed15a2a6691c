/**
 * A copy of one folder (~100 MiB) to 100 destination projects on two hosts, as one project-copy op
 * against 100 single-destination copies, alternating by round: wall time, copy snapshots made, and
 * how much the bucket grew at its largest (polled), against the folder's size.
 * Usage: npx tsx bench/copy.ts [--mib 100] [--dests 100] [--rounds 2] [--dir /tmp]
 */
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fillFolder, openPlatform } from './platform.js';
import { machineContext, median } from './lib.js';

const { values: args } = parseArgs({
  options: {
    mib: { type: 'string', default: '100' },
    dests: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '2' },
    dir: { type: 'string', default: tmpdir() },
  },
});
const MIB = Number(args.mib);
const DESTS = Number(args.dests);

const p = await openPlatform('copy', args.dir);
const [a, b] = [await p.host('host-a'), await p.host('host-b')];
const source = await p.project(a.host_id, 'course');
const files = fillFolder(path.join(a.dataDir, 'projects', source.project_id, 'project', 'handout'), MIB, 256);
const mibOf = (dir: string) => Number(execFileSync('du', ['-sm', dir]).toString().split('\t')[0]);

/** Runs `fn` while polling the bucket's size: wall seconds and the bucket's growth at its largest (MiB). */
async function measured(fn: () => Promise<unknown>) {
  await p.lro.backups!.buckets.of('local'); // the bucket exists before either starts
  const before = mibOf(p.bucketDir);
  let peak = before;
  const poll = setInterval(() => (peak = Math.max(peak, mibOf(p.bucketDir))), 250);
  const t0 = performance.now();
  await fn();
  clearInterval(poll);
  return { s: (performance.now() - t0) / 1000, grewMib: Math.max(peak, mibOf(p.bucketDir)) - before };
}
const snapshotsMade = async (since: Date) =>
  (
    await p.lro.db.query(
      `SELECT count(*)::int AS n FROM long_running_operations WHERE kind = 'project-copy-snapshot' AND created_at >= $1`,
      [since],
    )
  ).rows[0].n as number;

const rows = {
  one: [] as number[],
  many: [] as number[],
  oneSnap: [] as number[],
  manySnap: [] as number[],
  oneGrew: [] as number[],
  manyGrew: [] as number[],
};
for (let r = 0; r < Number(args.rounds); r++) {
  const dests: string[] = [];
  for (let i = 0; i < DESTS; i++) dests.push((await p.project(i % 2 ? b.host_id : a.host_id, `d${r}-${i}`)).project_id);
  const scope = { type: 'project' as const, id: source.project_id };
  const to = (ids: string[], where: string) => ({
    paths: ['project/handout'],
    dests: ids.map((id) => ({ project_id: id, path: `project/${where}` })),
  });
  const one = async () => {
    const t = new Date();
    const m = await measured(() => p.run('project-copy', scope, to(dests, 'one')));
    rows.one.push(m.s);
    rows.oneGrew.push(m.grewMib);
    rows.oneSnap.push(await snapshotsMade(t));
  };
  const many = async () => {
    const t = new Date();
    const m = await measured(() => Promise.all(dests.map((id) => p.run('project-copy', scope, to([id], 'many')))));
    rows.many.push(m.s);
    rows.manyGrew.push(m.grewMib);
    rows.manySnap.push(await snapshotsMade(t));
  };
  for (const step of r % 2 === 0 ? [one, many] : [many, one]) await step();
  console.error(`round ${r + 1}: one op ${rows.one.at(-1)!.toFixed(1)} s, ${DESTS} ops ${rows.many.at(-1)!.toFixed(1)} s`);
}
await p.close();

console.log(`Machine: ${await machineContext()}`);
console.log(
  `${MIB} MiB in ${files} files to ${DESTS} projects (half on the source's host, half on another), ` +
    `${args.rounds} alternating rounds, medians.\n`,
);
console.log('| how | wall | × one op | copy snapshots made | bucket growth at its largest |');
console.log('|---|---|---|---|---|');
const ratio = (x: number[]) => (median(x) / median(rows.one)).toFixed(2);
console.log(
  `| one project-copy to ${DESTS} | ${median(rows.one).toFixed(1)} s | 1.00 | ${median(rows.oneSnap)} | ${median(rows.oneGrew)} MiB |`,
);
console.log(
  `| ${DESTS} project-copy ops, one destination each | ${median(rows.many).toFixed(1)} s | ${ratio(rows.many)} | ` +
    `${median(rows.manySnap)} | ${median(rows.manyGrew)} MiB |`,
);
