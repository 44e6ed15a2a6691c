import { lroOptions, poolOptions, type Config } from '../config.js';
import { Lro } from '../lro/engine.js';
import type { WorkerPool } from '../workers/pool.js';
import { openDatabase } from './database.js';
import { onShutdown, undoOnError } from './signals.js';

export interface WorkerCommandOptions {
  routing: string[];
  concurrency?: number;
  pools: number;
  maintenance: boolean;
}

/** `lro worker`: worker pools (and maintenance) on DATABASE_URL (or the embedded database) until a signal. */
export async function workerCommand(config: Config, o: WorkerCommandOptions): Promise<void> {
  const log = (m: string) => console.error(m);
  const db = await openDatabase(config, log);
  const lro = await undoOnError(() => Lro.open(lroOptions(config, db.url, 'lro-worker')), () => db.stop());
  const ownerType = o.routing.includes('hub') ? 'hub' : 'host';
  const pools: WorkerPool[] = [];
  await undoOnError(async () => {
    for (let i = 0; i < Math.max(1, o.pools); i++) {
      const pool = lro.workerPool({ ...poolOptions(config), routing: o.routing, ownerType, concurrency: o.concurrency ?? config.LRO_CONCURRENCY });
      await pool.start();
      pools.push(pool);
    }
  }, async () => {
    await lro.close({ gracefulMs: 0 });
    await db.stop();
  });
  if (o.maintenance) lro.maintainer().start();
  log(`lro worker: ${o.pools} pool(s) serving ${o.routing.join(', ')}`);
  await onShutdown(async (opts) => {
    await lro.close(opts);
    await db.stop();
  }, { log, pools: pools }).done;
}
