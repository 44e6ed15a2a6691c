import { lroOptions, poolOptions, type Config } from '../config.js';
import { Lro } from '../lro/engine.js';
import { onShutdown } from './signals.js';

export interface WorkerCommandOptions {
  routing: string[];
  concurrency?: number;
  pools: number;
  maintenance: boolean;
}

/** `lro worker`: worker pools (and maintenance) on DATABASE_URL until a signal. */
export async function workerCommand(config: Config, o: WorkerCommandOptions): Promise<void> {
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is not set (lro start runs an embedded database)');
  const lro = await Lro.open(lroOptions(config, config.DATABASE_URL, 'lro-worker'));
  const ownerType = o.routing.includes('hub') ? 'hub' : 'host';
  for (let i = 0; i < Math.max(1, o.pools); i++) {
    await lro.workerPool({ ...poolOptions(config), routing: o.routing, ownerType, concurrency: o.concurrency ?? config.LRO_CONCURRENCY }).start();
  }
  if (o.maintenance) lro.maintainer().start();
  console.error(`lro worker: ${o.pools} pool(s) serving ${o.routing.join(', ')}`);
  await onShutdown((opts) => lro.close(opts));
}
