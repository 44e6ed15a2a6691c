/**
 * Backup and restore through lro against the same restic command run directly, alternating, on one
 * generated project (~1 GiB by default: many small files and a few large ones): the overhead ratio
 * (lro ÷ direct, wall time), and how many progress events per second reached an SSE client of the
 * hub meanwhile. Each backup goes to a fresh bucket (a first backup, not a no-op incremental one);
 * each restore starts from missing roots. The order alternates by round, and every step begins
 * after a `sync`, so neither side pays for the other's writeback.
 * Usage: npx tsx bench/backup.ts [--mib 1024] [--rounds 5] [--dir /dev/shm]
 * `--dir` is where the project, its buckets and the restores live: a tmpfs (`/dev/shm`) takes the
 * disk's writeback out of the figures, which on a shared machine moved a restore by ±30 % between
 * rounds and hid what lro itself adds.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildHub } from '../src/api/app.js';
import { Lro } from '../src/app/lro.js';
import { migrate } from '../src/db/migrate.js';
import { silentLogger } from '../src/lro/log.js';
import { Restic } from '../src/backup/restic.js';
import { HostStore } from '../src/domain/hosts.js';
import { ProjectStore } from '../src/domain/projects.js';
import { accountInsert } from '../src/domain/sql/accounts.js';
import { freshDatabase, machineContext, median } from './lib.js';

const { values: args } = parseArgs({
  options: {
    mib: { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '5' },
    dir: { type: 'string', default: tmpdir() },
  },
});
const MIB = Number(args.mib);
const ROUNDS = Number(args.rounds);
const ADMIN = 'bench-admin-token-0123456789';

const base = mkdtempSync(path.join(args.dir, 'lro-bench-backup-'));
const passwordFile = path.join(base, 'password');
writeFileSync(passwordFile, 'bench\n', { mode: 0o600 });

/** Half the bytes in 16 KiB files, half in 64 MiB ones. */
function generate(dir: string): number {
  let files = 0;
  const small = Math.floor((MIB * 1024) / 2 / 16);
  for (let i = 0; i < small; i++) {
    const d = path.join(dir, 'project', `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, `f${i}.txt`), randomBytes(16 * 1024));
    files++;
  }
  mkdirSync(path.join(dir, 'persist'), { recursive: true });
  for (let i = 0; i < Math.max(1, Math.floor(MIB / 2 / 64)); i++, files++)
    writeFileSync(path.join(dir, 'persist', `big${i}.bin`), randomBytes(64 << 20));
  return files;
}

const db = await freshDatabase('backup_bench');
await migrate(db.url);
const lro = await Lro.open({ connectionString: db.url, log: silentLogger, backup: { passwordFile, baseDir: base } });
const app = buildHub({ lro, adminToken: ADMIN });
await app.listen({ host: '127.0.0.1', port: 0 });
const hubUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const owner = await accountInsert(lro.db, { name: 'bench' });
const hosts = new HostStore({ db: lro.db });
const host = await hosts.create({ name: 'bench-host', region: 'local' });
await hosts.setStatus(host.host_id, 'running'); // as its liveness would say
const dataDir = path.join(base, 'host');
const pool = lro.workerPool({ routing: [`host:${host.host_id}`], ownerType: 'host', host: { hostId: host.host_id, dataDir } });
await pool.start();
const project = await new ProjectStore({ db: lro.db }).create({
  title: 'bench',
  created_by: owner.account_id,
  host_id: host.host_id,
  backup_region: 'local',
});
const dir = path.join(dataDir, 'projects', project.project_id);
const files = generate(dir);
const restic = new Restic();
const setRepo = (repo: string) => lro.db.query(`UPDATE backup_regions SET repository = $1 WHERE region = 'local'`, [repo]);

/** Runs the op through the hub's SSE endpoint until it ends: wall seconds, progress events/s seen. */
async function throughLro(kind: string, input: object): Promise<{ s: number; eventsPerS: number }> {
  const t0 = performance.now();
  const { op } = await lro.store.create({ kind, scope: { type: 'project', id: project.project_id }, input });
  let events = 0;
  const res = await fetch(`${hubUrl}/v1/ops/${op.op_id}/events`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  for (let text = ''; ;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
    events += (text.match(/event: progress/g) ?? []).length;
    text = text.slice(text.lastIndexOf('\n\n') + 2);
  }
  const s = (performance.now() - t0) / 1000;
  const end = await lro.store.get(op.op_id);
  if (end.status !== 'succeeded') throw new Error(`${kind} ${end.status}: ${end.error?.message}`);
  return { s, eventsPerS: events / s };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

const rows = {
  backupLro: [] as number[],
  backupDirect: [] as number[],
  restoreLro: [] as number[],
  restoreDirect: [] as number[],
  eps: [] as number[],
};
/** Writes of the step before flushed first, so no step pays for another's writeback. */
const settled = <T>(fn: () => Promise<T>) => {
  execFileSync('sync');
  return fn();
};
/** Both, in the order of the round: direct first in even rounds, lro first in odd ones. */
async function pair(r: number, direct: () => Promise<void>, throughLro: () => Promise<void>) {
  for (const step of r % 2 === 0 ? [direct, throughLro] : [throughLro, direct]) await settled(step);
}
for (let r = 0; r < ROUNDS; r++) {
  const direct = { repository: path.join(base, `direct-${r}`), passwordFile };
  await restic.ensureRepository(direct);
  await setRepo(`file:lro-${r}`);
  await lro.backups!.buckets.of('local'); // both start from an empty bucket that exists (a host checks its bucket once)
  await pair(
    r,
    async () => {
      const args = ['backup', '--json', '--host', 'bench', 'project', 'persist'];
      rows.backupDirect.push(await timed(() => restic.run(direct, args, { cwd: dir, onJson: () => {} })));
    },
    async () => {
      const b = await throughLro('project-backup', {});
      rows.backupLro.push(b.s);
      rows.eps.push(b.eventsPerS);
    },
  );
  const target = path.join(base, `restore-${r}`);
  // restore-on-missing: the roots gone (removed before the pair: the deletion's writeback is no one's cost), a start restores them
  for (const root of ['project', 'persist']) rmSync(path.join(dir, root), { recursive: true, force: true });
  await pair(
    r,
    async () => {
      rows.restoreDirect.push(await timed(() => restic.run(direct, ['restore', 'latest', '--target', target])));
      rmSync(target, { recursive: true, force: true });
    },
    async () => {
      rows.restoreLro.push((await throughLro('project-start', { restore: 'auto' })).s);
    },
  );
  const last = (a: number[]) => a.at(-1)!.toFixed(1);
  console.error(
    `round ${r + 1}: backup ${last(rows.backupLro)} vs ${last(rows.backupDirect)} s, ` +
      `restore ${last(rows.restoreLro)} vs ${last(rows.restoreDirect)} s`,
  );
}
await pool.stop();
await app.close();
await lro.close();
await db.drop();
rmSync(base, { recursive: true, force: true });

console.log(`Machine: ${await machineContext()}`);
console.log(`${MIB} MiB in ${files} files (half in 16 KiB files, half in 64 MiB ones), ${ROUNDS} alternating rounds, medians.\n`);
console.log('| operation | through lro | restic directly | ratio | progress events/s to an SSE client |');
console.log('|---|---|---|---|---|');
const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(3);
const cells = (a: number[], b: number[]) => `${median(a).toFixed(1)} s | ${median(b).toFixed(1)} s | ${ratio(a, b)}`;
console.log(`| backup (first, to an empty bucket) | ${cells(rows.backupLro, rows.backupDirect)} | ${median(rows.eps).toFixed(1)} |`);
console.log(`| restore (start with the roots missing) | ${cells(rows.restoreLro, rows.restoreDirect)} | — |`);
