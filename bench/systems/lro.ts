import { z } from 'zod';
import { KindRegistry } from '../../src/lro/kinds.js';
import { Lro } from '../../src/app/lro.js';
import { migrate } from '../../src/db/migrate.js';
import { BULK_BATCH, type Hooks, type QueueSystem } from './types.js';

/**
 * lro with every op's record kept, heartbeats on (10 s beat, 2 s summaries) and a summary event on
 * the op's progress stream at every state change, the streams in Postgres (`pg`) or in NATS.
 */
export function lroSystem(streams: 'pg' | 'nats' | 'off' = 'pg', pools = 1): QueueSystem {
  let lro: Lro;
  let hooks: Hooks;
  const kinds = new KindRegistry().register({
    name: 'noop',
    input: z.object({ seq: z.int().optional() }),
    result: z.null(),
    async run({ input }) {
      hooks.started(input.seq);
      hooks.finished(input.seq);
      return null;
    },
  });
  const request = (seq?: number) => ({ kind: 'noop', scope: { type: 'hub' }, input: seq === undefined ? {} : { seq } });
  return {
    name: `lro (${streams === 'off' ? 'no streams' : `${streams} streams`}${pools === 1 ? '' : `, ${pools} pools`})`,
    async setup(url) {
      await migrate(url);
      lro = await Lro.open({
        connectionString: url,
        kinds,
        poolSize: 20,
        events: streams !== 'off',
        streamsSpec: streams === 'nats' ? (process.env.NATS_URL ?? 'nats://127.0.0.1:4222') : 'pg',
      });
    },
    async start(concurrency, h) {
      hooks = h;
      for (let i = 0; i < pools; i++) await lro.workerPool({ concurrency: concurrency / pools }).start();
    },
    async enqueueBulk(n) {
      for (let i = 0; i < n; i += BULK_BATCH)
        await lro.store.createMany(Array.from({ length: Math.min(BULK_BATCH, n - i) }, () => request()));
    },
    async enqueueOne(seq) {
      return (await lro.store.create(request(seq))).op.op_id;
    },
    async waitDone(id) {
      await lro.wait(id, 30_000);
    },
    async pending() {
      const { rows } = await lro.db.query(`SELECT count(*)::int AS n FROM long_running_operations WHERE status <> 'succeeded'`);
      return rows[0].n;
    },
    stop: () => lro.close(),
  };
}
