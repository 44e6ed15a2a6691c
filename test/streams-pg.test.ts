import { afterAll, describe, expect, it } from 'vitest';
import { ProgressStreams, type StreamAddress } from '../src/lro/streams/index.js';
import { PgStreamBackend } from '../src/lro/streams/pg.js';
import { openTestLro } from './helpers/lro.js';
import { collect, newStream, progress, streamContract } from './helpers/streams-contract.js';

const { lro, url } = await openTestLro();
const streams = lro.streams; // the default `pg` streams, closed with the Lro

// A second writer with a pool of its own, as another worker process would have.
const other = new ProgressStreams(new PgStreamBackend({ db: lro.db, listener: lro.listener, connectionString: url }));
afterAll(() => other.close());

streamContract(
  'pg',
  () => streams,
  () => other,
  async (clock) => new ProgressStreams(new PgStreamBackend({ db: lro.db, listener: lro.listener, clock })),
);

describe('pg adapter: age limit', () => {
  it('a maintenance pass drops events older than max_age_s, keeping the newest so seqs go on', async () => {
    const addr = newStream();
    await streams.configure(addr, { max_msgs: 2000, max_age_s: 60 });
    await streams.publish(addr, [progress(1), progress(2), progress(3)]);
    expect(await streams.backend.trimAge(new Date(Date.now() + 30_000))).toBe(0);
    expect(await streams.backend.trimAge(new Date(Date.now() + 61_000))).toBe(2);
    await streams.publish(addr, [progress(4)]);
    const items = await collect(streams.read(addr), (all) => all.some((i) => 'seq' in i && i.seq === 4));
    expect(items.map((i) => ('seq' in i ? i.seq : `gap ${i.from_seq}-${i.to_seq}`))).toEqual(['gap 1-2', 3, 4]);
  });
});

describe('pg adapter: many streams in one append', () => {
  it('300 project-scoped ops created at once all get their queued summary (notifications stay under 8,000 bytes)', async () => {
    const project = { type: 'project' as const, id: '4a0f3c55-1c8e-4c1e-9a3e-6e0d3b1f2a77' };
    const ids = await lro.store.createMany(Array.from({ length: 300 }, () => ({ kind: 'demo', scope: project })));
    for (const id of ids) {
      const { events } = await streams.backend.history({ storage: `persist.project-${project.id}`, name: `lro.${id}` }, 1, 10);
      expect(events).toMatchObject([{ seq: 1, type: 'summary', summary: { status: 'queued' } }]);
    }
  });
});

describe('pg adapter: many followers, one read', () => {
  /** Follows `addr` from `from` until `n` events came; their seqs. */
  async function follow(addr: StreamAddress, from: number, n: number, signal: AbortSignal): Promise<number[]> {
    const seqs: number[] = [];
    for await (const batch of streams.backend.follow(addr, from, signal)) {
      seqs.push(...batch.map((e) => e.seq));
      if (seqs.length >= n) break;
    }
    return seqs;
  }

  it('200 streams followed at once each get their events in order, exactly once', async () => {
    const addrs = Array.from({ length: 200 }, () => newStream());
    const ac = new AbortController();
    const followed = addrs.map((addr) => follow(addr, 1, 5, ac.signal));
    // Each round is one append for every stream (another writer's): one notification names them all.
    for (let round = 1; round <= 5; round++) await Promise.all(addrs.map((addr) => other.publish(addr, [progress(round)])));
    const got = await Promise.all(followed);
    ac.abort();
    expect(got).toEqual(addrs.map(() => [1, 2, 3, 4, 5]));
  });

  it('a second follower of a followed stream, from an earlier seq, gets everything from its own seq', async () => {
    const addr = newStream();
    await streams.publish(addr, [progress(1), progress(2), progress(3)]);
    const ac = new AbortController();
    const first = follow(addr, 3, 2, ac.signal);
    const second = follow(addr, 1, 4, ac.signal);
    await streams.publish(addr, [progress(4)]);
    expect(await first).toEqual([3, 4]);
    expect(await second).toEqual([1, 2, 3, 4]);
    ac.abort();
  });
});
