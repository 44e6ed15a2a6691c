import type { FastifyInstance } from 'fastify';
import { buildHub } from '../api/app.js';
import { poolOptions, type Config } from '../config.js';
import { hostSetStatus } from '../domain/sql/hosts.js';
import type { Lro } from '../lro/engine.js';

/** The hub: HTTP API on `port`, hub-routed workers and the maintainer. */
export async function serveHub(lro: Lro, config: Config, opts: { port: number; host?: string; logLevel?: string }): Promise<FastifyInstance> {
  await lro.workerPool({ ...poolOptions(config), routing: ['hub'], ownerType: 'hub' }).start();
  lro.maintainer().start();
  const app = buildHub({ lro, adminToken: config.LRO_ADMIN_TOKEN, logger: { level: opts.logLevel ?? 'info' } });
  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port });
  return app;
}

/** A host: workers for ops routed to `host:<id>`, and its liveness on the hosts table. */
export async function serveHost(lro: Lro, config: Config, opts: { hostId: string; dataDir: string }): Promise<() => Promise<void>> {
  await lro.workerPool({
    ...poolOptions(config), routing: [`host:${opts.hostId}`], ownerType: 'host', workerId: `host-${opts.hostId.slice(0, 8)}`,
  }).start();
  const beat = () => hostSetStatus(lro.db, { host_id: opts.hostId, status: 'running' }).catch(() => {});
  await beat();
  const timer = setInterval(beat, config.LRO_HEARTBEAT_S * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await hostSetStatus(lro.db, { host_id: opts.hostId, status: 'off' }).catch(() => {});
  };
}
