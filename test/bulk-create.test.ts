import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openNatsStreams } from '../src/lro/streams/index.js';
import { streamOf } from '../src/lro/streams/types.js';
import { natsUrl } from './helpers/binaries.js';
import { hubOp, openTestLro } from './helpers/lro.js';

const { lro, url } = await openTestLro();
const { store } = lro;

/** The `lro_queued` payloads heard while `fn` runs (and briefly after, for delivery). */
async function queuedNotifications(fn: () => Promise<unknown>): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  onTestFinished(() => c.end());
  const heard: string[] = [];
  c.on('notification', (n) => heard.push(n.payload ?? ''));
  await c.query('LISTEN lro_queued');
  await fn();
  await c.query('SELECT 1'); // a round trip after the commit: its notifications have arrived
  return heard;
}

describe('createMany writes each value as given', () => {
  it('quotes, backslashes, commas, braces, NULL-like text and non-ASCII survive the array encoding', async () => {
    const odd = ['he said "hi"', 'back\\slash', 'a,b', '{x}', 'NULL', ' padded ', 'été ✓ 🎉'];
    const ids = await store.createMany(
      odd.map((s, i) => hubOp('demo', { phases: [s] }, { dedupe_key: `${s}-${i}`, priority: i })),
      { createdBy: 'acct "q" \\ ,{}' },
    );
    expect(ids).toHaveLength(odd.length);
    for (const [i, id] of ids.entries()) {
      const op = await store.get(id);
      expect(op).toMatchObject({ dedupe_key: `${odd[i]}-${i}`, priority: i, created_by: 'acct "q" \\ ,{}', status: 'queued' });
      expect((op.input as { phases: string[] }).phases).toEqual([odd[i]]);
    }
  });

  it('a batch without dedupe keys and one with both kinds insert alike; a held key is skipped', async () => {
    const [held] = await store.createMany([hubOp('demo', {}, { dedupe_key: 'bulk-held' })]);
    const ids = await store.createMany([hubOp('demo'), hubOp('demo', {}, { dedupe_key: 'bulk-held' }), hubOp('demo', {}, { ttl_s: 60 })]);
    expect(ids).toHaveLength(2);
    expect(ids).not.toContain(held);
    const withTtl = await store.get(ids[1]!);
    expect(new Date(withTtl.expires_at!).getTime() - new Date(withTtl.created_at).getTime()).toBe(60_000);
    expect(await store.createMany([hubOp('demo'), hubOp('demo')])).toHaveLength(2);
  });
});

describe('creates wake the workers of their routings', () => {
  it('one lro_queued per routing a statement queued work for', async () => {
    const host = '6f1c1d52-59a4-4f0e-9e3c-0d5d5c0e0a11';
    const heard = await queuedNotifications(() =>
      store.createMany([hubOp('demo'), hubOp('demo'), hubOp('demo', { host_id: host }), hubOp('demo', { host_id: host })]),
    );
    expect(heard.sort()).toEqual([`host:${host}`, 'hub']);
    expect(await queuedNotifications(() => store.create(hubOp('demo')))).toEqual(['hub']);
  });

  it('nothing inserted (a held dedupe key): no notification', async () => {
    await store.create(hubOp('demo', {}, { dedupe_key: 'quiet' }));
    expect(await queuedNotifications(() => store.createMany([hubOp('demo', {}, { dedupe_key: 'quiet' })]))).toEqual([]);
  });
});

describe('every stream setting', () => {
  it('no streams: the ids, the rows, and the notification, from an insert that returns only what they need', async () => {
    const { lro: off } = await openTestLro({ connectionString: url, events: false });
    let ids: string[] = [];
    const heard = await queuedNotifications(async () => (ids = await off.store.createMany([hubOp('demo'), hubOp('demo')])));
    expect(heard).toEqual(['hub']);
    expect((await off.store.get(ids[1]!)).status).toBe('queued');
    expect((await off.store.create(hubOp('demo'))).op).toMatchObject({ status: 'queued', kind: 'demo', attempt: 0 });
  });

  it('NATS: each new op gets its queued summary as seq 1, one call of many creates at once', async () => {
    const streams = await openNatsStreams(natsUrl());
    const { lro: nats } = await openTestLro({ connectionString: url, streams });
    const ids = await nats.store.createMany(Array.from({ length: 50 }, () => hubOp('demo', {}, { max_attempts: 2 })));
    for (const id of [ids[0]!, ids[49]!]) {
      const { events } = await streams.backend.history(streamOf(await nats.store.get(id)), 1, 10);
      expect(events).toMatchObject([{ seq: 1, type: 'summary', summary: { status: 'queued', attempt: 0, max_attempts: 2 } }]);
    }
  });
});
