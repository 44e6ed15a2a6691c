import PgBoss from 'pg-boss';
import { BULK_BATCH, type Hooks, type QueueSystem } from './types.js';

/**
 * pg-boss 10: no LISTEN/NOTIFY, polls at 0.5 s at best. One `work()` loop fetching `batchSize` jobs
 * (its handler gets the batch), so "concurrency" is the batch size.
 */
export function pgBossSystem(batchSize: number): QueueSystem {
  let boss: PgBoss;
  const queue = 'noop';
  return {
    name: `pg-boss (batch ${batchSize})`,
    async setup(url) {
      boss = new PgBoss({ connectionString: url, max: 10, supervise: false, schedule: false });
      boss.on('error', (e) => console.error(e.message));
      await boss.start();
      await boss.createQueue(queue);
    },
    async start(_concurrency, hooks: Hooks) {
      await boss.work<{ seq?: number }>(queue, { batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        for (const job of jobs) hooks.started(job.data?.seq);
        for (const job of jobs) hooks.finished(job.data?.seq);
      });
    },
    async enqueueBulk(n) {
      for (let i = 0; i < n; i += BULK_BATCH) {
        await boss.insert(Array.from({ length: Math.min(BULK_BATCH, n - i) }, () => ({ name: queue, data: {} })));
      }
    },
    async enqueueOne(seq) {
      return (await boss.send(queue, { seq }))!;
    },
    waitDone: null,
    async pending() {
      const { rows } = await (boss.getDb() as any).executeSql(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state <> 'completed'`,
        [queue],
      );
      return rows[0].n;
    },
    stop: () => boss.stop({ graceful: false, wait: true }),
  };
}
