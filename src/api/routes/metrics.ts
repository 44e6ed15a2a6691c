import type { FastifyInstance } from 'fastify';
import { migrationStatus } from '../../db/migrate.js';
import { NotReadyError } from '../../lro/errors.js';
import type { HubContext } from '../app.js';
import { route } from '../auth.js';
import { doc } from '../openapi.js';
import { HubMetrics, withDeadline, type HubMetricsOptions } from '../metrics.js';

/** How long `/readyz` waits for the database before it answers "down". */
const READY_TIMEOUT_MS = 2000;

/**
 * `GET /metrics` (Prometheus text) and `GET /readyz`. Both open, like `/healthz`: the hub listens on
 * 127.0.0.1 unless told otherwise, and neither answer holds a token, an input or an account: only
 * kinds, statuses, routings (host ids) and numbers.
 */
export function metricsRoutes(app: FastifyInstance, ctx: HubContext, opts: HubMetricsOptions = {}) {
  const metrics = new HubMetrics(ctx.lro, { onError: (err) => app.log.warn({ err }, 'metrics: database statements failed'), ...opts });
  app.addHook('onClose', async () => metrics.close());

  app.get('/metrics', doc(route.public, { summary: 'Prometheus metrics (the operator: not for pages)' }), async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });

  // Ready to serve: the database answers and holds exactly the schema this code ships.
  app.get(
    '/readyz',
    doc(route.public, { summary: 'Ready: the database answers at the schema this hub ships (503 with why otherwise)' }),
    async (request) => {
      let status;
      try {
        status = await withDeadline(migrationStatus(ctx.lro.db), READY_TIMEOUT_MS, 'the database');
      } catch (err) {
        request.log.warn({ err }, 'readyz: database unreachable');
        throw new NotReadyError('the database does not answer', { db: 'down', reason: reasonOf(err) });
      }
      const migrations = { current: status.current, latest: status.latest };
      if (status.upToDate) return { ok: true, db: 'up', migrations };
      const message =
        status.missing.length > 0
          ? `the database lacks migrations ${status.missing.join(', ')} (run lro migrate)`
          : `the database is at migration ${status.current}, newer than this hub's ${status.latest} (deploy the newer hub)`;
      throw new NotReadyError(message, { db: 'up', migrations, missing: status.missing });
    },
  );
}

/** A short cause for the answer (a SQLSTATE, a socket error code, `timeout`), never a connection string. */
function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'connection failure';
}
