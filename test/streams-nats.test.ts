import { afterAll, describe, expect, it } from 'vitest';
import { NatsStreamBackend } from '../src/lro/streams/nats.js';
import { ProgressStreams } from '../src/lro/streams/index.js';
import { natsUrl } from './helpers/binaries.js';
import { newStream, progress, streamContract } from './helpers/streams-contract.js';

/** The machine's NATS with JetStream (.ci/run makes sure it is up), or NATS_URL. */
const url = natsUrl();
const streams = new ProgressStreams(await NatsStreamBackend.connect(url));
// A second writer with a connection and a cache of subject positions of its own.
const other = new ProgressStreams(await NatsStreamBackend.connect(url));
afterAll(() => Promise.all([streams.close(), other.close()]));

streamContract(
  'nats',
  () => streams,
  () => other,
  async (clock) => new ProgressStreams(await NatsStreamBackend.connect(url, { clock })),
);

describe('nats writes in flight together', () => {
  it('two writers racing on the same streams, many streams at once: each event stored once, seqs contiguous', async () => {
    const addrs = Array.from({ length: 20 }, newStream);
    // All in one turn: each writer's publishes go out together, and half of them lose their race.
    await Promise.all(
      addrs.flatMap((addr) =>
        [streams, other].flatMap((writer, w) => Array.from({ length: 5 }, (_, i) => writer.publish(addr, [progress(w * 100 + i)]))),
      ),
    );
    for (const addr of addrs) {
      const { events } = await streams.backend.history(addr, 1, 100);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      const values = events.map((e) => (e.type === 'progress' && typeof e.progress === 'object' ? e.progress.current : -1));
      expect([...values].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 100, 101, 102, 103, 104]);
      // Each writer's own events keep their order.
      expect(values.filter((v) => v < 100)).toEqual([0, 1, 2, 3, 4]);
      expect(values.filter((v) => v >= 100)).toEqual([100, 101, 102, 103, 104]);
    }
  });
});
