/**
 * Fair claims across accounts: account A queues a backlog, a pool works through it, then account B
 * creates one op; prints how long B's op waited to start (created_at → started_at, database clock).
 * Usage: npx tsx bench/fairness.ts [--backlog 5000] [--concurrency 10] [--ms 100]
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { migrate } from '../src/db/migrate.js';
import { Lro } from '../src/app/lro.js';
import { KindRegistry } from '../src/lro/kinds.js';
import { freshDatabase } from './lib.js';

const { values: args } = parseArgs({
  options: {
    backlog: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '10' },
    ms: { type: 'string', default: '100' },
  },
});
const BACKLOG = Number(args.backlog),
  CONC = Number(args.concurrency),
  MS = Number(args.ms);

const kinds = new KindRegistry().register({
  name: 'work',
  input: z.object({}),
  result: z.null(),
  async run({ signal }) {
    await delay(MS, undefined, { signal }); // the op's own work, not a wait for an event
    return null;
  },
});
const request = { kind: 'work', scope: { type: 'hub' }, input: {} };
const db = await freshDatabase('fairness');
try {
  await migrate(db.url);
  const lro = new Lro({ connectionString: db.url, kinds, poolSize: 20 });
  const a = await lro.store.createMany(
    Array.from({ length: BACKLOG }, () => request),
    { createdBy: 'account-a' },
  );
  await lro.workerPool({ concurrency: CONC }).start();
  await lro.wait(a[0]!, 60_000);
  const [b] = await lro.store.createMany([request], { createdBy: 'account-b' });
  const op = await lro.wait(b!, 10 * 60_000);
  const waited = op.started_at!.getTime() - op.created_at.getTime();
  console.log(`A: ${BACKLOG} queued ops of ${MS} ms, pool of ${CONC}: B's op started ${waited} ms after its create`);
  await lro.close({ gracefulMs: 0 });
} finally {
  await db.drop();
}
