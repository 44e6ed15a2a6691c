import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { LroClient, type WatchEvent } from '../src/client/client.js';
import type { Lro } from '../src/app/lro.js';
import { KindRegistry, type KindDefinition } from '../src/lro/kinds.js';
import type { Operation } from '../src/shared/operation.js';
import { demoKind, type DemoInput } from '../src/workers/kinds/demo.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';
import { openTestLro } from './helpers/lro.js';
import { startPgCluster } from './helpers/pg-cluster.js';

/** One attempt of an op as its handler saw it, from start to return or throw. */
interface Run {
  op_id: string;
  epoch: number;
  attempt: number;
  where: string;
  startedAt: number;
  endedAt?: number;
  returned?: boolean;
}

const OPS = 300;
const WATCHED = 60;
const DOWN_MS = 5_000;
const INPUT = { steps: 4, step_ms: 100 }; // 3 phases × 4 steps × 100 ms: 1.2 s a run
const STEPS_DONE = 3 * INPUT.steps;

const runs: Run[] = [];
/** The built-in demo kind, recording every start and end of its handler in `runs`. */
function recordedDemo(where: string): KindDefinition<DemoInput, { steps_done: number }> {
  return {
    ...demoKind,
    async run(ctx) {
      const run: Run = { op_id: ctx.op.op_id, epoch: ctx.epoch, attempt: ctx.attempt, where, startedAt: Date.now() };
      runs.push(run);
      try {
        const result = await demoKind.run(ctx);
        run.returned = true;
        return result;
      } finally {
        run.endedAt = Date.now();
      }
    },
  };
}

// A Postgres of this file's own: the test stops it. Registered first, so it is destroyed last.
const cluster = await startPgCluster();
afterAll(() => cluster.destroy());

const poolOpts = { concurrency: 25, heartbeatS: 0.5, summaryIntervalS: 0.25, pollMs: 250 };

/**
 * A hub (HTTP API, hub workers, maintainer) and two hosts, each an Lro of its own on the cluster with
 * lease `leaseS`. Pools are started by the test, once every waiter and SSE reader is attached (the hub's
 * `wait` is counted: one per `wait` request and one per SSE reader).
 */
async function platform(tag: string, leaseS: number) {
  const open = (name: string) =>
    openTestLro({
      connectionString: cluster.url,
      applicationName: `lro-${tag}-${name}`,
      leaseS,
      kinds: new KindRegistry().register(recordedDemo(name)),
    });
  const { lro: hub } = await open('hub');
  const hosts: string[] = [randomUUID(), randomUUID()];
  const hostLros = await Promise.all(hosts.map((_, i) => open(`host${i}`)));
  const pools = [
    hub.workerPool({ ...poolOpts, routing: ['hub'], ownerType: 'hub' }),
    ...hosts.map((id, i) => hostLros[i]!.lro.workerPool({ ...poolOpts, routing: [`host:${id}`], ownerType: 'host' })),
  ];
  hub.maintainer({ intervalMs: 500 }).start();
  const { base } = await startHub(hub);
  const counter = { attached: 0 };
  const hubWait = hub.wait.bind(hub);
  hub.wait = (...args) => {
    counter.attached++;
    return hubWait(...args);
  };
  return { tag, hub, hosts, pools, counter, client: new LroClient({ baseUrl: base, token: ADMIN_TOKEN }) };
}

/**
 * `ops` demo ops spread over the hub and the two hosts, a waiter on each and an SSE reader on the first
 * `watched`; the server is stopped once some have finished and started again 5 s later. Checks what
 * holds whatever the lease: every op succeeded whole, waiters and readers got the end, attempts never
 * overlapped, listeners and pools came back. Returns the ops and runs for the lease-specific checks.
 */
async function restartMidRun(p: Awaited<ReturnType<typeof platform>>, ops: number, watched: number, stepMs = INPUT.step_ms) {
  const { hub, hosts, pools, counter, client } = p;
  const routings = [undefined, ...hosts];
  const created: Operation[] = [];
  for (let i = 0; i < ops; i += 50) {
    created.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(50, ops - i) }, async (_, j) => {
          const hostId = routings[(i + j) % 3];
          return (
            await client.create({
              kind: 'demo',
              scope: { type: 'hub' },
              input: { ...INPUT, step_ms: stepMs, ...(hostId ? { host_id: hostId } : {}) },
            })
          ).op;
        }),
      )),
    );
  }
  const ids = created.map((op) => op.op_id);
  const waiters = ids.map((id) => client.wait(id, 120));
  const watchers = ids.slice(0, watched).map(async (id) => {
    const events: WatchEvent[] = [];
    for await (const e of client.watch(id)) events.push(e); // reconnects and resumes by itself
    return events;
  });
  await until('every waiter and SSE reader to be attached', async () => counter.attached >= ops + watched);
  // Only now do the hub and the two hosts start working, so the server stops mid-run.
  await Promise.all(pools.map((pool) => pool.start()));
  // Stop mid-run: some ops finished (their completions written), many handlers mid-step.
  await until('the run to be under way', async () => {
    const c = await counts(hub, ids);
    return c.succeeded >= 1 && c.running >= ops / 5;
  });
  const atStop = await counts(hub, ids);
  await cluster.stop('fast');
  onTestFinished(() => cluster.start().catch(() => {})); // never leave the next test without a server
  const stoppedAt = Date.now();
  await delay(DOWN_MS); // the fault itself: the server is away for 5 s
  await cluster.start();
  const startedAt = Date.now();

  const done = await Promise.all(waiters);
  const allDoneMs = Date.now() - startedAt;
  const seen = await Promise.all(watchers);

  // Every waiter got the terminal op: succeeded, with the whole result.
  expect(done.filter((op) => op.status !== 'succeeded').map((op) => [op.op_id, op.status, op.error])).toEqual([]);
  for (const op of done) expect(op.result).toEqual({ steps_done: STEPS_DONE });

  // Every attempt that ran left one start (an op whose claim answer was lost counts an attempt with
  // none). Attempts of one op never overlapped in time, and the result is the one of the attempt that
  // holds the final epoch.
  const byOp = new Map<string, Run[]>();
  for (const r of runs) byOp.set(r.op_id, [...(byOp.get(r.op_id) ?? []), r]);
  for (const op of done) {
    const mine = (byOp.get(op.op_id) ?? []).sort((a, b) => a.startedAt - b.startedAt);
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(op.attempt).toBeGreaterThanOrEqual(mine.length);
    expect(op.attempt).toBeLessThanOrEqual(op.max_attempts);
    expect(new Set(mine.map((r) => r.epoch)).size).toBe(mine.length);
    for (let i = 1; i < mine.length; i++) expect(mine[i]!.startedAt).toBeGreaterThanOrEqual(mine[i - 1]!.endedAt!);
    expect(mine.find((r) => r.epoch === op.lease_epoch)).toMatchObject({ returned: true });
    // …and only where it is routed: the hub's own ops on the hub, each host's on that host.
    const where = op.routing === 'hub' ? 'hub' : `host${hosts.indexOf(op.routing.slice('host:'.length))}`;
    expect(mine.map((r) => r.where)).toEqual(mine.map(() => where));
  }

  // Every SSE reader saw its op's events in order, without repeats, up to the terminal summary.
  for (const [i, events] of seen.entries()) {
    const seqs = events.filter((e) => e.id !== undefined).map((e) => e.id!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(events.at(-1)).toMatchObject({
      event: 'summary',
      data: { summary: { status: 'succeeded', result: { steps_done: STEPS_DONE } } },
    });
    const last = events.at(-1)!;
    expect(last.event === 'summary' && last.data.summary.attempt).toBe(done[i]!.attempt);
  }

  // The listeners are back (one LISTEN connection per process, retrying every 2 s at most) and new
  // work runs on every routing.
  await until(
    'the three listeners to reconnect',
    async () => {
      const { rows } = await hub.db.query(`SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name LIKE $1`, [
        `lro-${p.tag}-%-listen`,
      ]);
      return rows.length === 3;
    },
    5_000,
  );
  const fresh = await Promise.all(
    routings.map(
      async (hostId) =>
        (
          await client.create({
            kind: 'demo',
            scope: { type: 'hub' },
            input: { steps: 1, step_ms: 0, ...(hostId ? { host_id: hostId } : {}) },
          })
        ).op,
    ),
  );
  for (const op of fresh) expect(await client.wait(op.op_id, 5)).toMatchObject({ status: 'succeeded', attempt: 1 });

  const retried = done.filter((op) => op.attempt > 1).length;
  const reran = ids.filter((id) => (byOp.get(id) ?? []).filter((r) => r.returned).length > 1).length;
  console.log(
    `pg restart (lease ${done[0]!.lease_s} s): at stop ${atStop.succeeded} succeeded / ${atStop.running} running; ` +
      `down ${startedAt - stoppedAt} ms; all ${ops} done ${allDoneMs} ms after the start; ${retried} ops took another attempt, ` +
      `${reran} handlers returned twice (completion lost to a rescue)`,
  );
  return { done, byOp };
}

describe('PostgreSQL is stopped mid-run and started again 5 s later', () => {
  it('lease 3 s (< outage): each op running at the stop is rescued and runs again, never twice at once or to success', async () => {
    const p = await platform('short', 3);
    // Runs of 3.6 s, longer than the lease: a handler still running when its pool's beats have failed
    // for the lease is aborted by the pool (lease lost), so a rescue must run it again. (With 1.2 s runs
    // every handler could finish in the outage and complete after it, before any rescue, on a loaded machine.)
    const { done, byOp } = await restartMidRun(p, OPS, WATCHED, 300);
    // The ops running at the stop lost their leases: their handlers stopped (or had returned) before
    // the next attempt began, and exactly one attempt's result is on the row.
    expect(done.some((op) => op.attempt > 1)).toBe(true);
    for (const op of done) expect((byOp.get(op.op_id) ?? []).filter((r) => r.epoch === op.lease_epoch)).toHaveLength(1);
  });

  it('lease 10 s (> outage): every op runs exactly once, its heartbeats and completion resume after the restart', async () => {
    const p = await platform('long', 10);
    const { done, byOp } = await restartMidRun(p, 90, 30);
    for (const op of done) {
      expect(op.attempt).toBe(1);
      expect(byOp.get(op.op_id)).toHaveLength(1);
    }
  });
});

async function counts(hub: Lro, ids: string[]): Promise<{ succeeded: number; running: number }> {
  const { rows } = await hub.db.query(
    `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
    count(*) FILTER (WHERE status = 'running')::int AS running FROM long_running_operations WHERE op_id = ANY($1)`,
    [ids],
  );
  return rows[0];
}

/** Polls `check` until it returns true, failing after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}
