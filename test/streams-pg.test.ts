import { afterAll, describe, expect, it } from 'vitest';
import { ProgressStreams } from '../src/lro/streams/index.js';
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
