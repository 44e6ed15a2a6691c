import type { FastifyInstance } from 'fastify';
import { buildHub } from '../api/app.js';
import { poolOptions, type Config } from '../config.js';
import { HostLiveness } from '../domain/host-liveness.js';
import { HostStore } from '../domain/hosts.js';
import { FreshnessWatch } from '../backup/freshness.js';
import { queueCopiesForHost } from '../backup/copy-host.js';
import type { Lro } from '../app/lro.js';
import type { WorkerPool } from '../workers/pool.js';

/**
 * The hub: HTTP API on `port`, hub-routed workers, the maintainer and the schedules' ticks. It
 * listens first, so a port that is taken fails before any op is claimed.
 */
export async function serveHub(
  lro: Lro,
  config: Config,
  opts: { port: number; host?: string; logLevel?: string },
): Promise<{ app: FastifyInstance; pool: WorkerPool }> {
  // The request log goes through the process's one logger (at `logLevel`, e.g. quieter for the demo).
  const log = opts.logLevel ? lro.log.child({}, { level: opts.logLevel }) : lro.log;
  const app = buildHub({ lro, adminToken: config.LRO_ADMIN_TOKEN, log });
  await listen(app, opts.host ?? '127.0.0.1', opts.port);
  const pool = lro.workerPool({ ...poolOptions(config), routing: ['hub'], ownerType: 'hub' });
  await pool.start();
  lro.maintainer().start();
  await lro.scheduler().start();
  return { app, pool };
}

/** Listens, turning a port that is taken (or not allowed) into a message that says what to do. */
async function listen(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close().catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
    const why = code === 'EADDRINUSE' ? 'the port is already in use' : 'not allowed to use this port';
    throw new Error(
      `cannot listen on ${host}:${port}: ${why} (${code}); choose another with --port <n> or PORT (--port 0 picks a free one)`,
      { cause: err },
    );
  }
}

/** A host: workers for ops routed to `host:<id>`, its liveness on the hosts table, and the freshness watch of its running projects. */
export async function serveHost(
  lro: Lro,
  config: Config,
  opts: { hostId: string; dataDir: string },
): Promise<{ pool: WorkerPool; stop(): Promise<void> }> {
  const host = { hostId: opts.hostId, dataDir: opts.dataDir };
  const pool = lro.workerPool({
    ...poolOptions(config),
    routing: [`host:${opts.hostId}`],
    ownerType: 'host',
    host,
    workerId: `host-${opts.hostId.slice(0, 8)}`,
  });
  await pool.start();
  const liveness = new HostLiveness({
    hosts: new HostStore({ db: lro.db }),
    hostId: opts.hostId,
    intervalMs: config.LRO_HEARTBEAT_S * 1000,
    log: lro.log,
    clock: lro.clock,
  });
  await liveness.start();
  await queueCopiesForHost(lro.db, (requests) => lro.store.createMany(requests), opts.hostId); // made while it was off
  const freshness = new FreshnessWatch({ db: lro.db, host, intervalMs: config.LRO_FRESHNESS_S * 1000, log: lro.log });
  freshness.start();
  return { pool, stop: async () => void (await Promise.all([liveness.stop(), freshness.stop()])) };
}
