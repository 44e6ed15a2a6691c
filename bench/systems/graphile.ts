import { makeWorkerUtils, run, runMigrations, type Runner, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { BULK_BATCH, type Hooks, type QueueSystem } from './types.js';

/** graphile-worker 0.17 with its defaults (LISTEN/NOTIFY, batched completion), concurrency as given. */
export function graphileSystem(): QueueSystem {
  let url: string;
  let runner: Runner;
  let utils: WorkerUtils;
  let db: pg.Pool;
  return {
    name: 'graphile-worker',
    async setup(u) {
      url = u;
      await runMigrations({ connectionString: url, logger: quietLogger() });
      // One pool of ours for graphile-worker too, so that its connections close when we say so.
      db = new pg.Pool({ connectionString: url, max: 24 });
      db.on('error', () => {});
      utils = await makeWorkerUtils({ pgPool: db, logger: quietLogger() });
    },
    async start(concurrency, hooks: Hooks) {
      runner = await run({
        pgPool: db,
        concurrency,
        noHandleSignals: true,
        pollInterval: 2000,
        logger: quietLogger(),
        taskList: {
          noop: async (payload) => {
            const seq = (payload as { seq?: number }).seq;
            hooks.started(seq);
            hooks.finished(seq);
          },
        },
      });
    },
    async enqueueBulk(n) {
      for (let i = 0; i < n; i += BULK_BATCH) {
        await utils.addJobs(Array.from({ length: Math.min(BULK_BATCH, n - i) }, () => ({ identifier: 'noop', payload: {} })));
      }
    },
    async enqueueOne(seq) {
      return (await utils.addJob('noop', { seq })).id;
    },
    waitDone: null,
    async pending() {
      const { rows } = await db.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs');
      return rows[0].n;
    },
    async stop() {
      await runner?.stop(); // (bench/bulk.ts never starts it)
      await utils.release();
      await db.end();
    },
  };
}

function quietLogger() {
  // graphile-worker's Logger takes a factory; keep the benchmark output to the table.
  return new (class {
    scope() {
      return this;
    }
    info() {}
    debug() {}
    warn() {}
    error(m: string) {
      console.error(m);
    }
  })() as never;
}
