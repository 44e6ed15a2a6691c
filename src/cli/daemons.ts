import { z } from 'zod';
import { lroOptions, type Config } from '../config.js';
import { parseOrThrow } from '../lro/schemas.js';
import { Lro } from '../lro/engine.js';
import { openDatabase } from './database.js';
import { serveHost, serveHub } from './serve.js';
import { onShutdown, undoOnError } from './signals.js';

const log = (m: string) => console.error(m);

/** `lro hub --port`: the HTTP API, hub workers and maintenance until SIGTERM/SIGINT. */
export async function hubCommand(config: Config, o: { port: number; listen: string }): Promise<void> {
  const db = await openDatabase(config, log);
  const lro = await undoOnError(() => Lro.open(lroOptions(config, db.url, 'lro-hub')), () => db.stop());
  const hub = await undoOnError(() => serveHub(lro, config, { port: o.port, host: o.listen }), async () => {
    await lro.close({ gracefulMs: 0 });
    await db.stop();
  });
  if (!config.LRO_ADMIN_TOKEN) log('LRO_ADMIN_TOKEN is not set: the admin routes (accounts, hosts) answer 401');
  await onShutdown(async (opts) => {
    await hub.app.close();
    await lro.close(opts);
    await db.stop();
  }, { log, pools: [hub.pool] }).done;
}

/** `lro host --id --data-dir`: workers for ops routed to this host until SIGTERM/SIGINT. */
export async function hostCommand(config: Config, o: { id: string; dataDir: string }): Promise<void> {
  parseOrThrow(z.uuid({ message: 'must be a uuid' }), o.id, '--id');
  const db = await openDatabase(config, log);
  const lro = await undoOnError(() => Lro.open(lroOptions(config, db.url, `lro-host-${o.id.slice(0, 8)}`)), () => db.stop());
  const host = await undoOnError(() => serveHost(lro, config, { hostId: o.id, dataDir: o.dataDir }), async () => {
    await lro.close({ gracefulMs: 0 });
    await db.stop();
  });
  log(`lro host ${o.id}: serving host:${o.id} (data in ${o.dataDir})`);
  await onShutdown(async (opts) => {
    await host.stop();
    await lro.close(opts);
    await db.stop();
  }, { log, pools: [host.pool] }).done;
}
