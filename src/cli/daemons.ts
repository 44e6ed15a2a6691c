import { z } from 'zod';
import { lroOptions, poolOptions, type Config } from '../config.js';
import { parseOrThrow } from '../lro/schemas.js';
import { Lro } from '../app/lro.js';
import type { WorkerPool } from '../workers/pool.js';
import { openDatabase, type OpenDatabase } from './database.js';
import { cliLogger } from './logger.js';
import { serveHost, serveHub } from './serve.js';
import { serve } from './signals.js';

interface Served {
  pools: WorkerPool[];
  /** Stops what `start` started besides the pools (which `Lro.close` stops). */
  stop(): Promise<void>;
}

/**
 * The database (DATABASE_URL or the embedded one) and an Lro, then `start` on them, until a signal;
 * on the way out: what `start` started, the pools (running ops finish), the database.
 */
async function runDaemon(config: Config, applicationName: string, start: (lro: Lro) => Promise<Served>): Promise<void> {
  let db: OpenDatabase | undefined;
  let lro: Lro | undefined;
  let served: Served | undefined;
  const pools: WorkerPool[] = [];
  const log = cliLogger(config);
  const { shutdown } = await serve(
    async () => {
      db = await openDatabase(config, (m) => log.info(m));
      lro = await Lro.open({ ...lroOptions(config, db.url, applicationName), log });
      served = await start(lro);
      pools.push(...served.pools);
    },
    async (opts) => {
      await served?.stop();
      await lro?.close(opts);
      await db?.stop();
    },
    { log, pools, stopTimeoutMs: config.LRO_STOP_TIMEOUT_S * 1000 },
  );
  await shutdown.done;
}

/** `lro hub --port`: the HTTP API, hub workers and maintenance until SIGTERM/SIGINT. */
export function hubCommand(config: Config, o: { port: number; listen: string }): Promise<void> {
  return runDaemon(config, 'lro-hub', async (lro) => {
    const hub = await serveHub(lro, config, { port: o.port, host: o.listen });
    if (!config.LRO_ADMIN_TOKEN) cliLogger(config).warn('LRO_ADMIN_TOKEN is not set: the admin routes (accounts, hosts) answer 401');
    return { pools: [hub.pool], stop: () => hub.app.close() };
  });
}

/** `lro host --id --data-dir`: workers for ops routed to this host until SIGTERM/SIGINT. */
export function hostCommand(config: Config, o: { id: string; dataDir: string }): Promise<void> {
  parseOrThrow(z.uuid({ message: 'must be a uuid' }), o.id, '--id');
  return runDaemon(config, `lro-host-${o.id.slice(0, 8)}`, async (lro) => {
    const host = await serveHost(lro, config, { hostId: o.id, dataDir: o.dataDir });
    cliLogger(config).info(`lro host ${o.id}: serving host:${o.id} (data in ${o.dataDir})`);
    return { pools: [host.pool], stop: host.stop };
  });
}

export interface WorkerCommandOptions {
  routing: string[];
  concurrency?: number;
  pools: number;
  maintenance: boolean;
}

/** `lro worker`: worker pools (and maintenance) on DATABASE_URL (or the embedded database) until a signal. */
export function workerCommand(config: Config, o: WorkerCommandOptions): Promise<void> {
  return runDaemon(config, 'lro-worker', async (lro) => {
    const ownerType = o.routing.includes('hub') ? 'hub' : 'host';
    const pools: WorkerPool[] = [];
    for (let i = 0; i < Math.max(1, o.pools); i++) {
      pools.push(
        lro.workerPool({ ...poolOptions(config), routing: o.routing, ownerType, concurrency: o.concurrency ?? config.LRO_CONCURRENCY }),
      );
      await pools.at(-1)!.start();
    }
    if (o.maintenance) lro.maintainer().start();
    cliLogger(config).info(`lro worker: ${o.pools} pool(s) serving ${o.routing.join(', ')}`);
    return { pools, stop: async () => {} };
  });
}
