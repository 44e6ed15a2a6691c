import { z } from 'zod';
import { lroOptions, type Config } from '../config.js';
import { parseOrThrow } from '../lro/schemas.js';
import { Lro } from '../lro/engine.js';
import { openDatabase } from './database.js';
import { serveHost, serveHub } from './serve.js';
import { onShutdown } from './signals.js';

const log = (m: string) => console.error(m);

/** `lro hub --port`: the HTTP API, hub workers and maintenance until SIGTERM/SIGINT. */
export async function hubCommand(config: Config, o: { port: number; listen: string }): Promise<void> {
  const db = await openDatabase(config, log);
  const lro = await Lro.open(lroOptions(config, db.url, 'lro-hub'));
  const app = await serveHub(lro, config, { port: o.port, host: o.listen });
  if (!config.LRO_ADMIN_TOKEN) log('LRO_ADMIN_TOKEN is not set: the admin routes (accounts, hosts) answer 401');
  await onShutdown(async (opts) => {
    await app.close();
    await lro.close(opts);
    await db.stop();
  }, log);
}

/** `lro host --id --data-dir`: workers for ops routed to this host until SIGTERM/SIGINT. */
export async function hostCommand(config: Config, o: { id: string; dataDir: string }): Promise<void> {
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is not set: a host joins the hub\'s database');
  parseOrThrow(z.uuid({ message: 'must be a uuid' }), o.id, '--id');
  const lro = await Lro.open(lroOptions(config, config.DATABASE_URL, `lro-host-${o.id.slice(0, 8)}`));
  const stopHost = await serveHost(lro, config, { hostId: o.id, dataDir: o.dataDir });
  log(`lro host ${o.id}: serving host:${o.id} (data in ${o.dataDir})`);
  await onShutdown(async (opts) => {
    await lro.close(opts);
    await stopHost();
  }, log);
}
