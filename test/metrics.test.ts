import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildHub } from '../src/api/app.js';
import { Lro } from '../src/app/lro.js';
import { workerOps } from '../src/workers/ops.js';
import { ADMIN_TOKEN, readSse } from './helpers/hub.js';
import { claimedByGhost, hubOp, openTestLro } from './helpers/lro.js';
import { testKinds } from './helpers/kinds.js';

const LATEST = Math.max(
  ...readdirSync(new URL('../sql/', import.meta.url))
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .map((f) => Number.parseInt(f, 10)),
);
const SECRET = 'sekrit-input-7f3a';

/** Fails its first `fail_attempts` attempts (retryably, with a 1 ms backoff), then succeeds. */
const flakyKind = {
  name: 'flaky',
  input: z.strictObject({ fail_attempts: z.int().min(0) }),
  result: z.strictObject({ attempt: z.int() }),
  backoff: { baseMs: 1, maxMs: 1 },
  async run({ input, attempt }: { input: { fail_attempts: number }; attempt: number }) {
    if (attempt <= input.fail_attempts) throw new Error(`attempt ${attempt} fails on purpose`);
    return { attempt };
  },
};

const { lro } = await openTestLro({ kinds: testKinds().register(flakyKind) });
// The scrape's clock: undefined is the database's; a test pins it to move the finished-ops window.
let scrapeNow: Date | undefined;
const SETTLE_S = 600;
const hub = buildHub({ lro, adminToken: ADMIN_TOKEN, logger: false, metrics: { now: () => scrapeNow, settleS: SETTLE_S } });
await hub.listen({ host: '127.0.0.1', port: 0 });
afterAll(() => hub.close());
const base = `http://127.0.0.1:${(hub.server.address() as { port: number }).port}`;

type Samples = Map<string, number>;
/** Parses the Prometheus text exposition into `name{k="v",…}` → value (labels sorted by name). */
function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort();
    samples.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return samples;
}

/** `name{labels}` with the labels in any order, as parseExposition keys it. */
const key = (name: string, labels: Record<string, string> = {}) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;

async function scrape(url = base): Promise<{ text: string; samples: Samples; type: string | null }> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parseExposition(text), type: res.headers.get('content-type') };
}

/** Polls `check` until it holds or `ms` pass (a condition with a deadline, not a sleep). */
async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setImmediate(r));
  }
}

describe('GET /metrics', () => {
  it('counts what happened: outcomes, retries, a rescue, durations, queues, running ops, SSE clients, append lag', async () => {
    // A probe op (2 s lease) claimed by a worker that then vanishes: the maintainer rescues it with a pinned clock.
    const { created: rescued, claimed } = await claimedByGhost(lro);
    expect(claimed!.op_id).toBe(rescued.op_id);
    const report = await lro.maintainer().runOnce({ now: new Date(claimed!.heartbeat_at!.getTime() + 2_001) });
    expect(report?.rescued).toEqual([{ op_id: rescued.op_id, status: 'queued' }]);

    const pool = lro.workerPool({ concurrency: 4, pollMs: 100 });
    await pool.start();
    const { op: ok } = await lro.store.create(hubOp('demo', { steps: 2, step_ms: 1, phases: [SECRET] }));
    const { op: retried } = await lro.store.create(hubOp('flaky', { fail_attempts: 1 }));
    const { op: failed } = await lro.store.create(hubOp('flaky', { fail_attempts: 5 }, { max_attempts: 2 }));
    const { op: waiting } = await lro.store.create(hubOp('demo', { host_id: '00000000-0000-4000-8000-000000000001' }));
    const { op: canceled } = await lro.store.create(hubOp('demo', { host_id: '00000000-0000-4000-8000-000000000001' }));
    await lro.store.cancel(canceled.op_id);
    const finals = await Promise.all([ok, retried, failed, rescued].map((op) => lro.wait(op.op_id, 20_000)));
    expect(finals.map((op) => [op.status, op.attempt])).toEqual([
      ['succeeded', 1],
      ['succeeded', 2],
      ['failed', 2],
      ['succeeded', 2],
    ]);
    const { op: hanging } = await lro.store.create(hubOp('demo', { hang: true, steps: 3, step_ms: 1 }));
    // An SSE client of the hanging op; its handler's first step (then it hangs) is the signal that it runs.
    const sse = new AbortController();
    let hangs!: () => void;
    const reached = new Promise<void>((resolve) => {
      hangs = resolve;
    });
    const reading = readSse(`${base}/v1/ops/${hanging.op_id}/events`, {
      token: ADMIN_TOKEN,
      signal: sse.signal,
      onEvent: (e) => {
        if (e.event === 'progress' && e.data.message === 'step 1 of 3') hangs();
      },
    });
    await reached;

    // Within the settle window nothing finished is counted yet: a completion still committing would be missed.
    let { samples } = await scrape();
    expect(samples.get(key('lro_db_up'))).toBe(1);
    expect([...samples.keys()].filter((k) => k.startsWith('lro_ops_finished_total'))).toEqual([]);
    // Active ops, counted afresh at every scrape.
    expect(samples.get(key('lro_ops', { kind: 'demo', status: 'queued' }))).toBe(1);
    expect(samples.get(key('lro_ops', { kind: 'demo', status: 'running' }))).toBe(1);
    expect(samples.get(key('lro_queued_ops', { routing: 'host:00000000-0000-4000-8000-000000000001' }))).toBe(1);
    await until(async () => (await scrape()).samples.get(key('lro_sse_clients')) === 1);

    // The window moves past the settle time: every finished op is counted once, with its durations.
    scrapeNow = new Date(Date.now() + (SETTLE_S + 60) * 1000);
    const rows = (
      await lro.db.query(`SELECT op_id, extract(epoch FROM started_at - created_at)::float8 AS wait_s,
      extract(epoch FROM finished_at - started_at)::float8 AS run_s FROM long_running_operations WHERE finished_at IS NOT NULL`)
    ).rows;
    const of = (id: string) => rows.find((r) => r.op_id === id)!;
    for (let i = 0; i < 2; i++) {
      // the second scrape adds nothing: each op is read once
      ({ samples } = await scrape());
      const finished = Object.fromEntries([...samples].filter(([k]) => k.startsWith('lro_ops_finished_total')));
      expect(finished).toEqual({
        [key('lro_ops_finished_total', { kind: 'demo', status: 'succeeded' })]: 1,
        [key('lro_ops_finished_total', { kind: 'demo', status: 'canceled' })]: 1,
        [key('lro_ops_finished_total', { kind: 'flaky', status: 'succeeded' })]: 1,
        [key('lro_ops_finished_total', { kind: 'flaky', status: 'failed' })]: 1,
        [key('lro_ops_finished_total', { kind: 'probe', status: 'succeeded' })]: 1,
      });
      expect(samples.get(key('lro_op_retries_total', { kind: 'flaky' }))).toBe(2);
      expect(samples.get(key('lro_op_retries_total', { kind: 'probe' }))).toBe(1);
      expect(samples.get(key('lro_op_retries_total', { kind: 'demo' }))).toBeUndefined();
      // The canceled op never started: no duration of it.
      expect(samples.get(key('lro_op_enqueue_to_start_seconds_count', { kind: 'demo' }))).toBe(1);
      expect(samples.get(key('lro_op_enqueue_to_start_seconds_count', { kind: 'flaky' }))).toBe(2);
      expect(samples.get(key('lro_op_enqueue_to_start_seconds_sum', { kind: 'flaky' }))).toBeCloseTo(
        of(retried.op_id).wait_s + of(failed.op_id).wait_s,
        6,
      );
      expect(samples.get(key('lro_op_run_seconds_count', { kind: 'flaky', status: 'failed' }))).toBe(1);
      expect(samples.get(key('lro_op_run_seconds_sum', { kind: 'flaky', status: 'failed' }))).toBeCloseTo(of(failed.op_id).run_s, 6);
      expect(samples.get(key('lro_op_run_seconds_sum', { kind: 'probe', status: 'succeeded' }))).toBeCloseTo(of(rescued.op_id).run_s, 6);
      expect(samples.get(key('lro_op_run_seconds_bucket', { kind: 'probe', status: 'succeeded', le: '+Inf' }))).toBe(1);
      expect(samples.get(key('lro_lease_rescues_total', { kind: 'probe', outcome: 'queued' }))).toBe(1);
    }

    // The oldest due queued op's age, on a pinned clock: exactly how long it has waited.
    scrapeNow = new Date(new Date(waiting.run_at).getTime() + 42_000);
    ({ samples } = await scrape());
    const oldest = samples.get(key('lro_oldest_queued_age_seconds', { routing: 'host:00000000-0000-4000-8000-000000000001' }));
    expect(oldest).toBeCloseTo(42, 2); // run_at in µs, the pin in ms
    scrapeNow = undefined;

    // Stream appends: every stream row here is an event this process appended; one lag observation per append.
    const stored = async () => Number((await lro.db.query('SELECT count(*) FROM lro_stream_events')).rows[0].count);
    await until(async () => (await scrape()).samples.get(key('lro_stream_events_appended_total')) === (await stored()));
    ({ samples } = await scrape());
    const appends = samples.get(key('lro_stream_append_lag_seconds_count'))!;
    expect(appends).toBeGreaterThanOrEqual(5); // at least a summary per finished op, each appended on its own
    expect(appends).toBeLessThanOrEqual(await stored());
    expect(samples.get(key('lro_stream_append_lag_seconds_bucket', { le: '+Inf' }))).toBe(appends);
    expect(samples.get(key('lro_stream_append_lag_seconds_sum'))).toBeGreaterThan(0);

    sse.abort();
    await reading;
    await until(async () => (await scrape()).samples.get(key('lro_sse_clients')) === 0);
    await lro.store.cancel(hanging.op_id);
    await lro.wait(hanging.op_id, 20_000);
    await pool.stop();
  });

  it('a backlog of finished ops is read a page per scrape, each op once, ties on finished_at included', async () => {
    const paged = buildHub({ lro, logger: false, metrics: { now: () => new Date(Date.now() + 60_000), finishedPerScrape: 2 } });
    await paged.listen({ host: '127.0.0.1', port: 0 });
    try {
      const url = `http://127.0.0.1:${(paged.server.address() as { port: number }).port}`;
      // Five ops completed by one statement: one finished_at for all of them.
      await lro.store.createMany(Array.from({ length: 5 }, () => hubOp('flaky', { fail_attempts: 0 })));
      const ops = workerOps(lro.db);
      const claimed = await ops.claim({ routings: ['hub'], kinds: ['flaky'], limit: 5, worker_id: 'w', owner_type: 'hub' });
      const done = await ops.completeMany({
        done: claimed.map((op) => ({ op_id: op.op_id, epoch: op.lease_epoch, result: { attempt: 1 }, summary: null })),
      });
      expect(done).toHaveLength(5);
      expect(new Set(done.map((op) => op.finished_at!.getTime())).size).toBe(1);
      const finished = async () => (await scrape(url)).samples.get(key('lro_ops_finished_total', { kind: 'flaky', status: 'succeeded' }));
      expect([await finished(), await finished(), await finished(), await finished()]).toEqual([2, 4, 5, 5]);
    } finally {
      await paged.close();
    }
  });

  it('is Prometheus text with units in the names, and shows no token or input', async () => {
    const { text, type } = await scrape();
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('# TYPE lro_op_run_seconds histogram');
    expect(text).toContain('# TYPE lro_lease_rescues_total counter');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(ADMIN_TOKEN);
  });
});

describe('GET /readyz', () => {
  it('200 when the database answers at the latest migration; 503 when one is missing', async () => {
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true, db: 'up', migrations: { current: LATEST, latest: LATEST } });

    const {
      rows: [row],
    } = await lro.db.query('DELETE FROM lro_migrations WHERE id = $1 RETURNING *', [LATEST]);
    try {
      const behind = await fetch(`${base}/readyz`);
      expect(behind.status).toBe(503);
      expect(await behind.json()).toEqual({
        error: {
          code: 'not_ready',
          message: `the database lacks migrations ${LATEST} (run lro migrate)`,
          details: { db: 'up', migrations: { current: LATEST - 1, latest: LATEST }, missing: [LATEST] },
        },
      });
      expect((await fetch(`${base}/healthz`)).status).toBe(200); // liveness is not readiness
    } finally {
      await lro.db.query('INSERT INTO lro_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [row.id, row.name, row.applied_at]);
    }
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    // A newer hub migrated past this one: this one is not ready either (its statements may no longer fit).
    await lro.db.query('INSERT INTO lro_migrations (id, name) VALUES ($1, $2)', [LATEST + 1, 'from-a-newer-hub.sql']);
    try {
      const ahead = await fetch(`${base}/readyz`);
      expect(ahead.status).toBe(503);
      expect((await ahead.json()).error).toMatchObject({
        code: 'not_ready',
        details: { db: 'up', migrations: { current: LATEST + 1, latest: LATEST }, missing: [] },
      });
    } finally {
      await lro.db.query('DELETE FROM lro_migrations WHERE id = $1', [LATEST + 1]);
    }
  });

  it('503 db down from a hub whose database is unreachable; its /metrics says lro_db_up 0; /healthz stays 200', async () => {
    const down = new Lro({ connectionString: 'postgres://postgres@127.0.0.1:1/nowhere', kinds: testKinds() });
    const other = buildHub({ lro: down, logger: false, metrics: { timeoutMs: 3000 } }); // a second hub in this process
    await other.listen({ host: '127.0.0.1', port: 0 });
    try {
      const url = `http://127.0.0.1:${(other.server.address() as { port: number }).port}`;
      const res = await fetch(`${url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        error: { code: 'not_ready', message: 'the database does not answer', details: { db: 'down', reason: 'ECONNREFUSED' } },
      });
      const { samples } = await scrape(url);
      expect(samples.get(key('lro_db_up'))).toBe(0);
      expect(samples.get(key('lro_sse_clients'))).toBe(0);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await other.close();
      await down.close();
    }
  });
});
