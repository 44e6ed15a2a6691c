import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/lro/clock.js';
import { LroError } from '../../src/lro/errors.js';
import { StaleEpochError, type ProgressStreams, type StreamAddress, type StreamItem } from '../../src/lro/streams/index.js';

/** A fresh stream address in a project's storage. */
export const newStream = (): StreamAddress => ({ storage: `persist.project-${randomUUID()}`, name: `lro.${randomUUID()}` });

export const progress = (i: number, phase = 'work') => ({ type: 'progress' as const, phase, progress: { current: i, total: 1000 } });

/** Reads until `done(items)` holds; fails after 15 s instead of hanging. */
export async function collect(
  iter: AsyncGenerator<StreamItem>,
  done: (items: StreamItem[]) => boolean,
  ac?: AbortController,
): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  const timer = setTimeout(() => ac?.abort(), 15_000);
  try {
    if (done(items)) return items;
    for await (const item of iter) {
      items.push(item);
      if (done(items)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  if (!done(items)) throw new Error(`stream ended early after ${items.length} items`);
  return items;
}

const seqs = (items: StreamItem[]) => items.map((i) => ('seq' in i ? i.seq : `gap ${i.from_seq}-${i.to_seq}`));
const upTo = (n: number) => (items: StreamItem[]) => items.some((i) => 'seq' in i && i.seq >= n);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

const summary = (status: string) => ({ type: 'summary' as const, summary: { status } });
const bodies = (items: StreamItem[]) =>
  items.map((i) =>
    i.type === 'progress' ? (i.progress as { current: number }).current : i.type === 'summary' ? i.summary.status : i.type,
  );

/** A publish that must be refused for its stale epoch; returns the error. */
async function refused(publishing: Promise<unknown>, epoch: number, seen: number): Promise<void> {
  const err = await publishing.then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(StaleEpochError);
  expect(err).toMatchObject({ code: 'lease_lost', details: { epoch, seen } });
  expect(err.message).toMatch(new RegExp(`epoch ${epoch} is older than epoch ${seen} it has seen; the events were refused`));
}

/**
 * The contract every progress-stream adapter keeps. `openWriter` gives a second writer with state
 * of its own (another process, as a second worker would be), to check what one writer cannot see;
 * `openWithClock` streams on the given clock (closed by the test).
 */
export function streamContract(
  name: string,
  open: () => ProgressStreams,
  openWriter?: () => ProgressStreams,
  openWithClock?: (clock: ManualClock) => Promise<ProgressStreams>,
) {
  describe(`progress streams contract: ${name}`, () => {
    it('keeps publish order, numbers events 1.., and resumes from any seq', async () => {
      const streams = open();
      const addr = newStream();
      // Many publish calls in flight at once (they batch), order as called.
      await Promise.all(range(1, 500).map((i) => streams.publish(addr, [progress(i)])));
      const all = await collect(streams.read(addr), upTo(500));
      expect(seqs(all)).toEqual(range(1, 500));
      expect(all.map((e) => ('progress' in e ? (e.progress as { current: number }).current : 0))).toEqual(range(1, 500));
      const resumed = await collect(streams.read(addr, { fromSeq: 250 }), upTo(500));
      expect(seqs(resumed)).toEqual(range(250, 500));
    });

    it('a late subscriber gets history, then live events, in order', async () => {
      const streams = open();
      const addr = newStream();
      await streams.publish(
        addr,
        range(1, 5).map((i) => progress(i)),
      );
      const ac = new AbortController();
      const reading = collect(streams.read(addr, { signal: ac.signal }), upTo(10), ac);
      await streams.publish(
        addr,
        range(6, 10).map((i) => progress(i)),
      );
      expect(seqs(await reading)).toEqual(range(1, 10));
      ac.abort();
    });

    it('is a ring: old events are evicted, and a reader asking for them is told which it missed', async () => {
      const streams = open();
      const addr = newStream();
      await streams.configure(addr, { max_msgs: 10 });
      for (const i of range(1, 25)) await streams.publish(addr, [progress(i)]);
      const items = await collect(streams.read(addr, { fromSeq: 1 }), upTo(25));
      expect(seqs(items)).toEqual(['gap 1-15', ...range(16, 25)]);
      expect(seqs(await collect(streams.read(addr, { fromSeq: 20 }), upTo(25)))).toEqual(range(20, 25));
    });

    it('100 concurrent subscribers all get every event', async () => {
      const streams = open();
      const addr = newStream();
      const ac = new AbortController();
      setMaxListeners(200, ac.signal); // 100 readers share one signal
      const readers = range(1, 100).map(() => collect(streams.read(addr, { signal: ac.signal }), upTo(300), ac));
      for (let i = 1; i <= 300; i += 30)
        await streams.publish(
          addr,
          range(i, i + 29).map((n) => progress(n)),
        );
      const results = await Promise.all(readers);
      for (const r of results) expect(seqs(r)).toEqual(range(1, 300));
      ac.abort();
    });

    it('a subscriber that falls behind the ring is told the seqs it missed instead of hanging', async () => {
      const streams = open();
      const addr = newStream();
      await streams.configure(addr, { max_msgs: 10 });
      await streams.publish(addr, [progress(1)]);
      const ac = new AbortController();
      const reader = streams.read(addr, { signal: ac.signal, maxQueue: 5 });
      const first = await reader.next();
      expect(first.value).toMatchObject({ seq: 1 });
      // The reader stops reading while 40 more events go by; only 10 stay in the ring.
      for (const i of range(2, 41)) await streams.publish(addr, [progress(i)]);
      const rest = await collect(reader, upTo(41), ac);
      expect(seqs(rest)).toEqual(['gap 2-31', ...range(32, 41)]);
      ac.abort();
    });

    it('rejects bad events with a clear error and keeps the stream whole', async () => {
      const streams = open();
      const addr = newStream();
      await streams.publish(addr, [progress(1)]);
      const bad: [unknown, string, RegExp][] = [
        [{ type: 'progress', phase: 'x', level: 'loud' }, 'invalid_input', /level/],
        [{ type: 'progress', phase: 'x', detail: { n: 10n } }, 'invalid_input', /not JSON-serialisable/],
        [{ type: 'progress', phase: 'x', detail: 'y'.repeat(70_000) }, 'payload_too_large', /event is \d+ bytes; the limit is 65536/],
        [{ type: 'shout', phase: 'x' }, 'invalid_input', /type/],
      ];
      for (const [event, code, message] of bad) {
        const err = await streams.publish(addr, [progress(2), event]).catch((e) => e);
        expect(err).toBeInstanceOf(LroError);
        expect(err.code).toBe(code);
        expect(err.message).toMatch(message);
      }
      await streams.publish(addr, [progress(2)]);
      expect(seqs(await collect(streams.read(addr), upTo(2)))).toEqual([1, 2]);
    });

    it.runIf(openWithClock)('close() ends the tails of live readers, and may be called again', async () => {
      const streams = await openWithClock!(new ManualClock());
      const addr = newStream();
      await streams.publish(addr, [progress(1)]);
      const ac = new AbortController();
      const reader = streams.read(addr, { signal: ac.signal });
      expect((await reader.next()).value).toMatchObject({ seq: 1 });
      const waiting = reader.next(); // live: the tail follows the stream
      await streams.close();
      await streams.close();
      ac.abort();
      expect(await waiting).toMatchObject({ done: true });
    });

    describe.runIf(openWithClock)('on an injected clock', () => {
      const stamped = async (streams: ProgressStreams, addr: StreamAddress) =>
        (await streams.backend.history(addr, 1, 100)).events.map((e) => [e.seq, Date.parse(e.ts)]);

      it("stamps events with the clock's time", async () => {
        const clock = new ManualClock(new Date('2001-05-06T07:08:09.123Z'));
        const streams = await openWithClock!(clock);
        onTestFinished(() => streams.close());
        const addr = newStream();
        await streams.publish(addr, [progress(1)]);
        clock.advance(1500);
        await streams.publish(addr, [progress(2)]);
        const t0 = Date.parse('2001-05-06T07:08:09.123Z');
        expect(await stamped(streams, addr)).toEqual([
          [1, t0],
          [2, t0 + 1500],
        ]);
      });

      it('trimAge drops what the clock has aged past max_age_s, keeping the newest so seqs go on', async () => {
        // In the past, so no other test's stream (stamped now) is old enough to be trimmed with these.
        const clock = new ManualClock(new Date('2001-05-06T07:00:00Z'));
        const streams = await openWithClock!(clock);
        const addr = newStream();
        onTestFinished(async () => {
          await streams.drop(addr); // aged, it would be trimmed by other tests' passes
          await streams.close();
        });
        await streams.configure(addr, { max_msgs: 2000, max_age_s: 60 });
        await streams.publish(addr, [progress(1)]);
        await streams.publish(addr, [progress(2)]);
        clock.advance(30_000);
        await streams.publish(addr, [progress(3)]);
        expect(await streams.backend.trimAge()).toBe(0); // 30 s old: kept
        clock.advance(31_000);
        expect(await streams.backend.trimAge()).toBe(2); // 61 s old: dropped; 3 is 31 s old
        clock.advance(60_000);
        expect(await streams.backend.trimAge()).toBe(0); // 3 is old now, but the newest stays
        await streams.publish(addr, [progress(4)]);
        const items = await collect(streams.read(addr), upTo(4));
        expect(seqs(items)).toEqual(['gap 1-2', 3, 4]);
      });
    });

    describe('fencing by lease epoch', () => {
      it('refuses events older than the newest epoch the stream has seen, and keeps the stream whole', async () => {
        const streams = open();
        const addr = newStream();
        const at = (epoch?: number): StreamAddress => (epoch === undefined ? addr : { ...addr, epoch });
        await streams.publish(at(0), [summary('queued')]);
        await streams.publish(at(1), [summary('running'), progress(1), progress(2)]);
        await streams.publish(at(2), [summary('running')]); // a new owner's claim summary raises the mark
        await refused(streams.publish(at(1), [progress(3), progress(4)]), 1, 2);
        await streams.publish(at(2), [progress(3)]);
        await streams.publish(at(), [progress(4)]); // an unfenced writer (not a worker) still appends...
        await refused(streams.publish(at(1), [progress(99)]), 1, 2); // ...and the mark outlives its event
        const items = await collect(streams.read(addr), upTo(7));
        expect(seqs(items)).toEqual(range(1, 7));
        expect(bodies(items)).toEqual(['queued', 'running', 1, 2, 'running', 3, 4]);
      });

      it('judges each event of a batch against the epochs appended before it', async () => {
        const streams = open();
        const addr = newStream();
        const at = (epoch: number): StreamAddress => ({ ...addr, epoch });
        // Called together, so they share writes; the outcome follows call order.
        const results = await Promise.allSettled([
          streams.publish(at(1), [progress(1)]),
          streams.publish(at(2), [progress(2)]),
          streams.publish(at(1), [progress(98)]),
          streams.publish(at(3), [progress(3)]),
          streams.publish(at(2), [progress(99)]),
          streams.publish(at(3), [progress(4)]),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
        const items = await collect(streams.read(addr), upTo(4));
        expect(bodies(items)).toEqual([1, 2, 3, 4]);
        expect(seqs(items)).toEqual(range(1, 4));
      });

      it('keeps the mark when the ring evicts the event that raised it', async () => {
        const streams = open();
        const addr = newStream();
        await streams.configure(addr, { max_msgs: 2 });
        await streams.publish({ ...addr, epoch: 5 }, [summary('running')]);
        for (const i of range(1, 4)) await streams.publish(addr, [progress(i)]);
        await refused(streams.publish({ ...addr, epoch: 4 }, [progress(99)]), 4, 5);
        expect(seqs(await collect(streams.read(addr, { fromSeq: 4 }), upTo(5)))).toEqual([4, 5]);
      });

      it.runIf(openWriter)('refuses a writer that has not seen the newer epoch another writer appended', async () => {
        const old = open();
        const next = openWriter!();
        const addr = newStream();
        await old.publish({ ...addr, epoch: 1 }, [progress(1)]); // the old owner knows where the stream ends
        await next.publish({ ...addr, epoch: 2 }, [summary('running'), progress(2)]);
        await refused(old.publish({ ...addr, epoch: 1 }, [progress(99)]), 1, 2);
        await old.publish({ ...addr, epoch: 2 }, [progress(3)]); // seqs go on after the other writer's
        const items = await collect(old.read(addr), upTo(4));
        expect(bodies(items)).toEqual([1, 'running', 2, 3]);
        expect(seqs(items)).toEqual(range(1, 4));
      });
    });
  });
}
