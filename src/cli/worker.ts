import { lroOptions, poolOptions, type Config } from '../config.js';
import { Lro } from '../lro/engine.js';
import type { WorkerPool } from '../workers/pool.js';
import { openDatabase, type OpenDatabase } from './database.js';
import { serve } from './signals.js';

export interface WorkerCommandOptions {
  routing: string[];
  concurrency?: number;
  pools: number;
  maintenance: boolean;
}

/** `lro worker`: worker pools (and maintenance) on DATABASE_URL (or the embedded database) until a signal. */
export async function workerCommand(config: Config, o: WorkerCommandOptions): Promise<void> {
  const log = (m: string) => console.error(m);
  let db: OpenDatabase | undefined;
  let lro: Lro | undefined;
  const pools: WorkerPool[] = [];
  const { shutdown } = await serve(async () => {
    db = await openDatabase(config, log);
    lro = await Lro.open(lroOptions(config, db.url, 'lro-worker'));
    const ownerType = o.routing.includes('hub') ? 'hub' : 'host';
    for (let i = 0; i < Math.max(1, o.pools); i++) {
      const pool = lro.workerPool({ ...poolOptions(config), routing: o.routing, ownerType, concurrency: o.concurrency ?? config.LRO_CONCURRENCY });
      pools.push(pool);
      await pool.start();
    }
    if (o.maintenance) lro.maintainer().start();
  }, async (opts) => {
    await lro?.close(opts);
    await db?.stop();
  }, { log, pools });
  log(`lro worker: ${o.pools} pool(s) serving ${o.routing.join(', ')}`);
  await shutdown.done;
}
