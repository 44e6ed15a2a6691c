import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';

/** The Postgres server benchmarked on: BENCH_DATABASE_URL, DATABASE_URL, or the machine's. */
export const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, empty database on the server; returns its URL and a dropper. */
export async function freshDatabase(tag: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `bench_${tag.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The middle value; of an even count, the mean of the two middle ones (of 2 rounds, not the lower). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Cores, CPU, memory, Node and the server's version and durability settings. */
export async function machineContext(): Promise<string> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  const { rows } = await c.query(`SELECT version() AS v, current_setting('fsync') AS fsync,
    current_setting('synchronous_commit') AS sc, current_setting('shared_buffers') AS sb`);
  await c.end();
  const r = rows[0];
  return [
    `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    `${String(r.v).split(' on ')[0]}, fsync=${r.fsync}, synchronous_commit=${r.sc}, shared_buffers=${r.sb}`,
  ].join('; ');
}

/** Resolves after `ms` — pacing between latency samples so workers are idle, never a wait for an event. */
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Markdown table row. */
export const mdRow = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;

/**
 * CPU seconds used so far by the processes named `name` (from /proc), the children they reaped
 * included: a Postgres backend that exits moves its time into the postmaster's, so the sum only grows.
 */
export function serverCpu(name: string): number {
  const pids = execSync(`pgrep -x ${name} || true`).toString().split('\n').filter(Boolean);
  return pids.reduce((sum, pid) => sum + (procCpuSeconds(pid, { children: true }) ?? 0), 0);
}

/** A process's CPU seconds from /proc (user + system; with `children`, its reaped children's too), or null once it is gone. */
export function procCpuSeconds(pid: number | string, opts: { children?: boolean } = {}): number | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12]) + (opts.children ? Number(f[13]) + Number(f[14]) : 0)) / 100;
  } catch {
    return null;
  }
}

/** The pids of the backends serving the database `c` is connected to, but for `c`'s own. */
export async function backendPids(c: Pick<pg.Client, 'query'>): Promise<number[]> {
  const { rows } = await c.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  );
  return rows.map((r) => r.pid);
}

/** This process's CPU seconds (user + system). */
export function nodeCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
