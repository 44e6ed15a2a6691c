import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hubOp, openTestLro } from './helpers/lro.js';
import { startWorkerProcess } from './helpers/processes.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const { lro, url } = await openTestLro();

describe('exactly once under contention', () => {
  it('4 pools in 2 processes claim 2,000 ops: all succeed, each handler runs once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lro-contention-'));
    dirs.push(dir);
    const logs = [path.join(dir, 'a.log'), path.join(dir, 'b.log')];
    const workers = await Promise.all(
      logs.map((log) => startWorkerProcess({ DATABASE_URL: url, POOLS: '2', CONCURRENCY: '5', LRO_RUN_LOG: log })),
    );

    const ids = await lro.store.createMany(Array.from({ length: 2000 }, () => hubOp('probe')));
    expect(ids).toHaveLength(2000);
    const ops = await Promise.all(ids.map((id) => lro.wait(id, 60_000)));

    expect(ops.filter((op) => op.status !== 'succeeded')).toEqual([]);
    expect(new Set(ops.map((op) => op.attempt))).toEqual(new Set([1]));
    const runs = (await Promise.all(logs.map((log) => readFile(log, 'utf8').catch(() => '')))).flatMap((text) =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ')[0]),
    );
    expect(runs).toHaveLength(2000);
    expect(new Set(runs)).toEqual(new Set(ids));
    // Both processes took a share of the work.
    const pids = new Set(ops.map((op) => (op.result as { pid: number }).pid));
    expect(pids.size).toBe(2);
    const owners = new Set(ops.map((op) => op.owner_id));
    expect(owners.size).toBe(4);

    for (const w of workers) w.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
  });
});
