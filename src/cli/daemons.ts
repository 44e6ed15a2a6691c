import { z } from 'zod';
import { lroOptions, type Config } from '../config.js';
import { parseOrThrow } from '../lro/schemas.js';
import { Lro } from '../lro/engine.js';
import type { WorkerPool } from '../workers/pool.js';
import { openDatabase, type OpenDatabase } from './database.js';
import { serveHost, serveHub } from './serve.js';
import { serve } from './signals.js';

const log = (m: string) => console.error(m);

/** `lro hub --port`: the HTTP API, hub workers and maintenance until SIGTERM/SIGINT. */
export async function hubCommand(config: Config, o: { port: number; listen: string }): Promise<void> {
  let db: OpenDatabase | undefined;
  let lro: Lro | undefined;
  let hub: Awaited<ReturnType<typeof serveHub>> | undefined;
  const pools: WorkerPool[] = [];
  const { shutdown } = await serve(async () => {
    db = await openDatabase(config, log);
    lro = await Lro.open(lroOptions(config, db.url, 'lro-hub'));
    hub = await serveHub(lro, config, { port: o.port, host: o.listen });
    pools.push(hub.pool);
  }, async (opts) => {
    await hub?.app.close();
    await lro?.close(opts);
    await db?.stop();
  }, { log, pools });
  if (!config.LRO_ADMIN_TOKEN) log('LRO_ADMIN_TOKEN is not set: the admin routes (accounts, hosts) answer 401');
  await shutdown.done;
}

/** `lro host --id --data-dir`: workers for ops routed to this host until SIGTERM/SIGINT. */
export async function hostCommand(config: Config, o: { id: string; dataDir: string }): Promise<void> {
  parseOrThrow(z.uuid({ message: 'must be a uuid' }), o.id, '--id');
  let db: OpenDatabase | undefined;
  let lro: Lro | undefined;
  let host: Awaited<ReturnType<typeof serveHost>> | undefined;
  const pools: WorkerPool[] = [];
  const { shutdown } = await serve(async () => {
    db = await openDatabase(config, log);
    lro = await Lro.open(lroOptions(config, db.url, `lro-host-${o.id.slice(0, 8)}`));
    host = await serveHost(lro, config, { hostId: o.id, dataDir: o.dataDir });
    pools.push(host.pool);
  }, async (opts) => {
    await host?.stop();
    await lro?.close(opts);
    await db?.stop();
  }, { log, pools });
  log(`lro host ${o.id}: serving host:${o.id} (data in ${o.dataDir})`);
  await shutdown.done;
}
