import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/lro/clock.js';
import { listen, rescueChannel, type RescueMessage } from '../src/lro/instruments.js';
import { createLogger, silentLogger } from '../src/lro/log.js';
import { LOCKS, withAdvisoryXactLock } from '../src/lro/sql/locks.js';
import { ProgressStreams, streamOf, type StreamAddress } from '../src/lro/streams/index.js';
import type { Operation } from '../src/shared/operation.js';
import { Expirer } from '../src/workers/expirer.js';
import { Rescuer } from '../src/workers/rescuer.js';
import { StreamRetention } from '../src/workers/stream-retention.js';
import { claimedByGhost, hubOp, openTestLro } from './helpers/lro.js';
import { newStream, progress } from './helpers/streams-contract.js';

const LEASE_S = 2;
const { lro, url } = await openTestLro({ leaseS: LEASE_S });
const quiet = { db: lro.db, log: silentLogger };

/** A probe op created and claimed at the clock's time by a worker that then vanishes. */
async function orphanedAt(clock: ManualClock): Promise<Operation> {
  const { created: op, claimed } = await claimedByGhost(lro, clock.sqlNow());
  expect(claimed).toMatchObject({ op_id: op.op_id, status: 'running', heartbeat_at: clock.sqlNow() });
  return claimed!;
}

/**
 * An op canceled while queued at the clock's time: finished, once its stream holds the canceled
 * summary (the cancel publishes it after returning; a drop must not race it).
 */
async function finishedAt(clock: ManualClock): Promise<Operation> {
  const { op } = await lro.store.create(hubOp('demo', { host_id: crypto.randomUUID() }), { now: clock.sqlNow() });
  const canceled = await lro.store.cancel(op.op_id, { now: clock.sqlNow() });
  for await (const item of lro.streams.read(streamOf(op))) {
    if (item.type === 'summary' && item.summary.status === 'canceled') break;
  }
  return canceled;
}

const lastSummary = async (op: Operation) => (await lro.streams.backend.history(streamOf(op), 1, 100)).events.at(-1);
const ids = (ops: Operation[] | null) => (ops ?? []).map((op) => op.op_id);

describe('Rescuer', () => {
  it('requeues an op once the clock passes its lease, under a new epoch; says so on its stream and instrument', async () => {
    const clock = new ManualClock();
    const rescuer = new Rescuer({ ...quiet, events: lro.events, clock });
    const claimed = await orphanedAt(clock);
    const messages: RescueMessage[] = [];
    const unlisten = listen<RescueMessage>(rescueChannel, (m) => {
      if (m.db === lro.db) messages.push(m);
    });
    try {
      expect(ids(await rescuer.runOnce())).not.toContain(claimed.op_id);
      clock.advance(LEASE_S * 1000); // exactly one lease old: still held
      expect(ids(await rescuer.runOnce())).not.toContain(claimed.op_id);
      clock.advance(1);
      const rescued = await rescuer.runOnce();
      expect(rescued?.find((op) => op.op_id === claimed.op_id)).toMatchObject({
        status: 'queued',
        lease_epoch: claimed.lease_epoch + 1,
        owner_id: null,
        last_error: { code: 'lease_expired' },
        run_at: clock.sqlNow(),
      });
    } finally {
      unlisten();
    }
    expect(messages.flatMap((m) => m.rescued)).toContainEqual({ kind: 'probe', status: 'queued' });
    expect(await lastSummary(claimed)).toMatchObject({
      type: 'summary',
      summary: { status: 'queued', last_error: { code: 'lease_expired' } },
    });
    expect(ids(await rescuer.runOnce())).not.toContain(claimed.op_id); // once
    await lro.store.cancel(claimed.op_id); // leaves no queued probe behind for the other tests
  });
});

describe('Expirer', () => {
  it('expires a queued op once the clock passes its expires_at, and publishes its summary', async () => {
    const clock = new ManualClock();
    const expirer = new Expirer({ ...quiet, events: lro.events, clock });
    const { op } = await lro.store.create(hubOp('demo', { host_id: crypto.randomUUID() }, { ttl_s: 60 }), { now: clock.sqlNow() });
    expect(ids(await expirer.runOnce())).not.toContain(op.op_id);
    clock.advance(59_999);
    expect(ids(await expirer.runOnce())).not.toContain(op.op_id);
    clock.advance(1);
    expect((await expirer.runOnce())?.find((o) => o.op_id === op.op_id)).toMatchObject({
      status: 'expired',
      finished_at: clock.sqlNow(),
      error: { code: 'expired' },
    });
    expect(await lastSummary(op)).toMatchObject({ type: 'summary', summary: { status: 'expired' } });
  });
});

describe('StreamRetention', () => {
  it("drops a finished op's stream once the clock passes retentionS, marks it, and drops it only once", async () => {
    const clock = new ManualClock();
    const retention = new StreamRetention({ ...quiet, streams: lro.streams, clock, retentionS: 3600 });
    const op = await finishedAt(clock);
    clock.advance(3_599_999);
    expect((await retention.runOnce())?.streams_dropped).not.toContain(op.op_id);
    clock.advance(2);
    expect((await retention.runOnce())?.streams_dropped).toContain(op.op_id);
    expect((await lro.streams.backend.history(streamOf(op), 1, 100)).events).toEqual([]);
    expect(await lro.store.get(op.op_id)).toMatchObject({ status: 'canceled', events_dropped_at: clock.sqlNow() });
    expect((await retention.runOnce())?.streams_dropped).not.toContain(op.op_id);
  });

  it("trims events older than their stream's max_age_s by the clock, keeping the newest", async () => {
    const clock = new ManualClock();
    const retention = new StreamRetention({ ...quiet, streams: lro.streams, clock });
    const addr = newStream();
    await lro.streams.configure(addr, { max_msgs: 2000, max_age_s: 60 });
    await lro.streams.publish(addr, [progress(1), progress(2), progress(3)]);
    await retention.runOnce();
    expect((await lro.streams.backend.history(addr, 1, 10)).events).toHaveLength(3);
    clock.advance(61_000);
    expect((await retention.runOnce())?.events_aged_out).toBeGreaterThanOrEqual(2);
    expect((await lro.streams.backend.history(addr, 1, 10)).events.map((e) => e.seq)).toEqual([3]);
  });

  it('two instances racing: one drops while the other finds the lock held; every stream is dropped exactly once', async () => {
    const clock = new ManualClock();
    const ops = [await finishedAt(clock), await finishedAt(clock), await finishedAt(clock)];
    const drops: string[] = [];
    let entered!: () => void;
    let release!: () => void;
    const inFirstDrop = new Promise<void>((r) => {
      entered = r;
    });
    const gate = new Promise<void>((r) => {
      release = r;
    });
    /** The real streams, counting drops; the first drop waits at the gate (the pass holds its lock meanwhile). */
    class CountingStreams extends ProgressStreams {
      override async drop(addr: StreamAddress): Promise<void> {
        drops.push(addr.name);
        entered();
        await gate;
        return super.drop(addr);
      }
    }
    const streams = new CountingStreams(lro.streams.backend);
    const [a, b] = [0, 1].map(() => new StreamRetention({ ...quiet, streams, clock, retentionS: 60 }));
    clock.advance(61_000);

    const first = a!.runOnce();
    await inFirstDrop;
    expect(await b!.runOnce()).toBeNull();
    release();
    expect((await first)?.streams_dropped).toEqual(expect.arrayContaining(ids(ops)));
    expect((await b!.runOnce())?.streams_dropped).toEqual([]);

    const more = [await finishedAt(clock), await finishedAt(clock)];
    clock.advance(61_000);
    const both = await Promise.all([a!.runOnce(), b!.runOnce()]);
    expect(both.flatMap((r) => r?.streams_dropped ?? [])).toEqual(expect.arrayContaining(ids(more)));
    const ours = [...ops, ...more].map((op) => `lro.${op.op_id}`);
    expect(drops.filter((name) => ours.includes(name)).sort()).toEqual(ours.sort());
  });
});

describe('the locks', () => {
  it("each service does nothing while another process holds its lock, and is not held up by the others' locks", async () => {
    const clock = new ManualClock();
    const services = {
      rescuer: new Rescuer({ ...quiet, clock }),
      expirer: new Expirer({ ...quiet, clock }),
      streamRetention: new StreamRetention({ ...quiet, streams: lro.streams, clock }),
    };
    expect(new Set(Object.values(LOCKS)).size).toBe(3);
    for (const held of Object.keys(services) as (keyof typeof services)[]) {
      await withAdvisoryXactLock(lro.db, LOCKS[held], async () => {
        for (const [name, service] of Object.entries(services)) {
          if (name === held) expect(await service.runOnce()).toBeNull();
          else expect(await service.runOnce()).not.toBeNull();
        }
      });
      expect(await services[held].runOnce()).not.toBeNull(); // free again once the holder commits
    }
  });

  it('the maintainer reports null only when all three locks are held elsewhere', async () => {
    const maintainer = lro.maintainer({ log: silentLogger });
    const holdAll = (fn: () => Promise<void>) =>
      withAdvisoryXactLock(lro.db, LOCKS.rescuer, () =>
        withAdvisoryXactLock(lro.db, LOCKS.expirer, () => withAdvisoryXactLock(lro.db, LOCKS.streamRetention, fn)),
      );
    await holdAll(async () => {
      expect(await maintainer.runOnce()).toBeNull();
    });
    await withAdvisoryXactLock(lro.db, LOCKS.rescuer, async () => {
      expect(await maintainer.runOnce()).toMatchObject({ rescued: [], expired: expect.any(Array) });
    });
  });
});

describe('lifecycle', () => {
  it('start and stop are idempotent, for each service and the maintainer', async () => {
    const maintainer = lro.maintainer({ log: silentLogger });
    const services = [maintainer.rescuer, maintainer.expirer, maintainer.retention!];
    expect(services.map((s) => s.running)).toEqual([false, false, false]); // nothing starts in a constructor
    maintainer.start();
    maintainer.start();
    services[0]!.start();
    expect(services.map((s) => s.running)).toEqual([true, true, true]);
    await Promise.all([maintainer.stop(), maintainer.stop()]);
    await services[1]!.stop();
    expect(services.map((s) => s.running)).toEqual([false, false, false]);
    maintainer.start();
    expect(services.map((s) => s.running)).toEqual([true, true, true]);
    await maintainer.stop();
  });

  it('a started rescuer passes on its interval; a failing pass goes to the injected logger, not the console', async () => {
    const clock = new ManualClock();
    const rescuer = new Rescuer({ ...quiet, events: lro.events, clock, intervalMs: 20 });
    const claimed = await orphanedAt(clock);
    clock.advance(LEASE_S * 1000 + 1);
    const rescued = new Promise<void>((resolve) => {
      const unlisten = listen<RescueMessage>(rescueChannel, (m) => {
        if (m.db === lro.db) {
          unlisten();
          resolve();
        }
      });
    });
    rescuer.start();
    await rescued;
    await rescuer.stop();
    expect(await lro.store.get(claimed.op_id)).toMatchObject({ status: 'queued', lease_epoch: claimed.lease_epoch + 1 });
    await lro.store.cancel(claimed.op_id);

    const closed = new pg.Pool({ connectionString: url });
    await closed.end();
    let logged!: (line: string) => void;
    const line = new Promise<string>((r) => {
      logged = r;
    });
    const log = createLogger({ level: 'error', destination: { write: (l) => logged(l) } });
    const broken = new Expirer({ db: closed, log, intervalMs: 20 });
    broken.start();
    expect(JSON.parse(await line)).toMatchObject({ level: 50, service: 'expirer', msg: 'expirer pass failed', err: { type: 'Error' } });
    await broken.stop();
  });
});
