import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import { LeaseLostError } from '../src/lro/errors.js';
import { KindRegistry, type KindDefinition } from '../src/lro/kinds.js';
import { PgListener } from '../src/lro/listener.js';
import { abortCode } from '../src/workers/abort.js';
import { workerOps } from '../src/workers/ops.js';
import { createTestDatabase } from './helpers/db.js';
import { hubOp, openTestLro } from './helpers/lro.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

/** One attempt of a `cutoff` op, as the handler saw it. */
interface Run {
  op_id: string;
  epoch: number;
  host: 'X' | 'Y';
  startedAt: number;
  abortedAt?: number;
  abortCode?: string | null;
}

const LEASE_S = 2;

/**
 * On host X the handler (with `hold`) holds on until its signal fires, then returns a result anyway
 * (a handler that ignores its abort: that result must never land). Otherwise it finishes at once.
 */
function cutoffKind(host: 'X' | 'Y', runs: Run[], name = 'cutoff'): KindDefinition<{ hold: boolean }, { host: string; epoch: number }> {
  return {
    name,
    input: z.strictObject({ hold: z.boolean().default(true) }),
    result: z.strictObject({ host: z.string(), epoch: z.int() }),
    routing: () => 'hub',
    leaseS: LEASE_S,
    maxAttempts: 3,
    async run({ op, input, epoch, signal, progress }) {
      const run: Run = { op_id: op.op_id, epoch, host, startedAt: Date.now() };
      runs.push(run);
      progress({ phase: 'work', progress: host === 'X' ? 10 : 100 });
      if (host === 'X' && input.hold) {
        if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        run.abortedAt = Date.now();
        run.abortCode = abortCode(signal);
      }
      return { host, epoch };
    },
  };
}

/** Polls `check` until it returns true, failing after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

const url = await createTestDatabase();
const target = { host: new URL(url).hostname, port: Number(new URL(url).port || 5432) };
const proxy = await startTcpProxy(target);
afterAll(() => proxy.close());
const via = (port: number) => Object.assign(new URL(url), { port: String(port) }).toString();
const proxied = via(proxy.port);

const runs: Run[] = [];
// Host X reaches Postgres only through the proxy; host Y (with the maintainer) directly.
const { lro: x } = await openTestLro({
  connectionString: proxied,
  applicationName: 'lro-x',
  kinds: new KindRegistry().register(cutoffKind('X', runs)),
});
const { lro: y } = await openTestLro({
  connectionString: url,
  applicationName: 'lro-y',
  kinds: new KindRegistry().register(cutoffKind('Y', runs)),
});
const poolOpts = { routing: ['hub'], concurrency: 4, heartbeatS: 0.5, summaryIntervalS: 0.25, pollMs: 100 };

describe("a half-open connection: host X's path to Postgres blackholes for longer than the lease", () => {
  it("Y rescues and finishes X's ops, X's handlers are aborted, and X's old epoch can write nothing once the path is back", async () => {
    const xPool = x.workerPool(poolOpts);
    await xPool.start();
    const ids = await y.store.createMany(Array.from({ length: 4 }, () => hubOp('cutoff')));
    await until('X to run all four', async () => {
      const { rows } = await y.db.query(
        `SELECT count(*)::int AS n FROM long_running_operations
        WHERE op_id = ANY($1) AND status = 'running' AND owner_id = $2 AND progress_summary IS NOT NULL`,
        [ids, xPool.workerId],
      );
      return rows[0].n === 4;
    });
    const xRuns = runs.filter((r) => r.host === 'X');
    expect(xRuns.map((r) => r.op_id).sort()).toEqual([...ids].sort());

    const yPool = y.workerPool(poolOpts);
    await yPool.start();
    const maintainer = y.maintainer({ intervalMs: 200 });
    maintainer.start();

    proxy.blackhole();
    onTestFinished(() => proxy.heal()); // a failed assertion must not leave X hanging at close
    const cutAt = Date.now();
    const done = await Promise.all(ids.map((id) => y.wait(id, 20_000)));
    await until("X's handlers to be aborted", () => xRuns.every((r) => r.abortedAt !== undefined));

    // X's handlers stopped when their heartbeats could not renew the lease: within the lease, no sooner
    // than a lease minus one look after the last beat that got through (≤ 0.5 s before the cut).
    for (const r of xRuns) {
      expect(r.abortCode).toBe('lease_lost');
      expect(r.abortedAt! - cutAt).toBeGreaterThan(LEASE_S * 1000 - 1000);
      expect(r.abortedAt! - cutAt).toBeLessThan(LEASE_S * 1000 + 1000);
    }
    // Y finished every op under a later epoch (rescue, then its claim), and began only after X's handler had stopped.
    for (const op of done) {
      const xr = xRuns.find((r) => r.op_id === op.op_id)!;
      const yr = runs.find((r) => r.host === 'Y' && r.op_id === op.op_id)!;
      expect(op).toMatchObject({
        status: 'succeeded',
        attempt: 2,
        lease_epoch: xr.epoch + 2,
        result: { host: 'Y', epoch: xr.epoch + 2 },
        last_error: { code: 'lease_expired' },
      });
      expect(yr.startedAt).toBeGreaterThanOrEqual(xr.abortedAt!);
    }
    await yPool.stop();
    await maintainer.stop();
    const { rows: asYLeftThem } = await y.db.query('SELECT * FROM long_running_operations WHERE op_id = ANY($1) ORDER BY op_id', [ids]);

    // The path comes back: X's held bytes arrive (its last heartbeat, its claim) and are refused.
    proxy.heal();
    if (xPool.running > 0) await once(xPool, 'idle');
    // Every write X could still make under its old epochs, through its own connections: all refused.
    const xOps = workerOps(x.db);
    const stale = xRuns.map((r) => ({ op_id: r.op_id, epoch: r.epoch }));
    expect(
      await xOps.completeMany({ done: stale.map((s) => ({ ...s, result: { host: 'X', epoch: s.epoch }, summary: { percent: 10 } })) }),
    ).toEqual([]);
    expect(await xOps.heartbeat({ leases: stale.map((s) => ({ ...s, summary: { percent: 10, late: true } })) })).toEqual([]);
    expect(await xOps.release({ leases: stale })).toEqual([]);
    for (const s of stale) {
      await expect(
        xOps.fail({ ...s, error: { code: 'late', message: 'late' }, retryable: true, backoff_ms: 0, summary: { late: true } }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(xOps.finishCanceled({ ...s, error: { code: 'canceled', message: 'late' } })).rejects.toBeInstanceOf(LeaseLostError);
    }
    // The rows are exactly as Y left them: result, progress summary, epoch, timestamps.
    const { rows: now } = await y.db.query('SELECT * FROM long_running_operations WHERE op_id = ANY($1) ORDER BY op_id', [ids]);
    expect(now).toEqual(asYLeftThem);

    // X's pool, listener and connections recovered by themselves: a new op runs on X alone.
    const { op: fresh } = await y.store.create(hubOp('cutoff', { hold: false }));
    expect(await x.wait(fresh.op_id, 10_000)).toMatchObject({ status: 'succeeded', owner_id: xPool.workerId, result: { host: 'X' } });
    await xPool.stop();
  });

  it("a kind whose lease is shorter than the pool's beat is renewed in time, so its handler is not aborted", async () => {
    const held: Run[] = [];
    const { lro: z } = await openTestLro({
      connectionString: url,
      applicationName: 'lro-z',
      kinds: new KindRegistry().register(cutoffKind('X', held, 'cutoff-short')),
    });
    const pool = z.workerPool({ ...poolOpts, heartbeatS: 10 }); // a beat every 10 s would lose a 2 s lease
    await pool.start();
    const { op } = await z.store.create(hubOp('cutoff-short'));
    await until('the handler to run', () => held.length === 1);
    // Past one and a half leases: still held, renewed within the last lease, nothing to rescue.
    await until('1.5 leases to pass', () => Date.now() - held[0]!.startedAt > 1.5 * LEASE_S * 1000, 10_000);
    const running = await z.store.get(op.op_id);
    expect(held[0]!.abortedAt).toBeUndefined();
    expect(running).toMatchObject({ status: 'running', attempt: 1 });
    expect((await z.maintainer().runOnce())?.rescued).toEqual([]);
    await pool.stop({ gracefulMs: 0 });
    expect(held[0]!.abortCode).toBe('shutdown');
  });

  it('a LISTEN connection whose path silently dies is pinged, found dead and replaced: notifications arrive again', async () => {
    const path = await startTcpProxy(target);
    const listener = new PgListener({ connectionString: via(path.port), applicationName: 'lro-half-open-listen', pingMs: 500 });
    onTestFinished(async () => {
      await listener.stop();
      await path.close();
    });
    await listener.start();
    const heard = (payload: string) =>
      new Promise<void>((resolve) => {
        const on = (channel: string, p: string) => {
          if (channel !== 'lro_done' || p !== payload) return;
          listener.off('notification', on);
          resolve();
        };
        listener.on('notification', on);
      });
    const before = heard('before');
    await y.db.query(`SELECT pg_notify('lro_done', 'before')`);
    await before;
    // The connection open now goes dark (a NAT that forgot it); new connections still get through.
    path.blackhole({ newConnections: false });
    const reconnected = new Promise<void>((resolve) => listener.once('connected', resolve)); // (once() would reject on 'error')
    const late = delay(10_000).then(() => {
      throw new Error('the listener never noticed its dead connection');
    });
    await Promise.race([reconnected, late]);
    expect(path.connections).toBe(2);
    const after = heard('after');
    await y.db.query(`SELECT pg_notify('lro_done', 'after')`);
    await Promise.race([after, late]);
    path.heal();
  });
});
