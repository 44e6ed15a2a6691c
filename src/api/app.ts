import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { Access } from '../domain/access.js';
import { HostStore } from '../domain/hosts.js';
import { ProjectStore } from '../domain/projects.js';
import { RegionStore } from '../domain/regions.js';
import type { Lro } from '../app/lro.js';
import { UnavailableError } from '../lro/errors.js';
import type { Logger } from '../lro/log.js';
import { installAuth, route } from './auth.js';
import { clientErrorHandler, errorHandler, notFoundHandler } from './errors.js';
import type { HubMetricsOptions } from './metrics.js';
import { domainRoutes } from './routes/domain.js';
import { projectRoutes } from './routes/projects.js';
import { doc, installOpenApi } from './openapi.js';
import { metricsRoutes } from './routes/metrics.js';
import { opsRoutes } from './routes/ops.js';
import { scheduleRoutes } from './routes/schedules.js';
import { copyRoutes } from './routes/copies.js';
import { uiRoutes } from './routes/ui.js';
import { API_HEADERS, logRedaction } from './security.js';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';

/** Routes for the operator's tools, answered without CORS. */
const OPERATOR_PATHS = /^\/(metrics|readyz|healthz)\/?$/;

/**
 * Whether a request is for an operator's route: decided on the path the router matches (decoded:
 * `/%6Detrics` is `/metrics`), and on the matched route where there is one.
 */
function forOperator(req: FastifyRequest): boolean {
  const route = req.routeOptions?.url;
  if (route && OPERATOR_PATHS.test(route)) return true;
  const path = (req.url ?? '').split('?')[0]!;
  try {
    return OPERATOR_PATHS.test(decodeURIComponent(path));
  } catch {
    return true; // a path that cannot be decoded gets no CORS
  }
}

export interface HubOptions {
  lro: Lro;
  adminToken?: string;
  /**
   * The process's one logger (`createLogger`, src/lro/log.ts). Fastify logs through a child of it
   * that redacts tokens (URLs, the Authorization header). false or absent: no request log (unless the
   * older `logger` is given). @default false
   */
  log?: Logger | false;
  /**
   * @deprecated pass `log`. pino options for a logger of Fastify's own (`stream`: where lines go,
   * stdout otherwise), or false; tokens redacted the same. Kept until the CLI passes `log`.
   */
  logger?: false | { level: string; stream?: { write(line: string): void } };
  /** `/metrics` settings (tests pin its clock). */
  metrics?: HubMetricsOptions;
}

export interface HubContext {
  lro: Lro;
  access: Access;
  hosts: HostStore;
  projects: ProjectStore;
  regions: RegionStore;
}

/**
 * The hub's HTTP API on Fastify (its logger is pino): JSON snake_case, zod at every boundary, one
 * error mapping, a body limit (256 KiB: a 64 KiB input and its envelope) and request timeouts.
 */
export function buildHub(opts: HubOptions): FastifyInstance {
  const app = Fastify({
    ...hubLogging(opts),
    bodyLimit: 256 * 1024,
    connectionTimeout: 0,
    requestTimeout: 15_000, // receiving a request; long polls and SSE answer slowly but arrive quickly
    return503OnClosing: false, // answered in our shape below
    forceCloseConnections: true, // a closing hub ends its SSE streams; clients resume on another
    // Router limits (a path parameter over 100 characters, bad percent-encoding) and errors of Node's
    // HTTP parser (headers over 16 KiB) answer in our shape too, with their own statuses.
    frameworkErrors: errorHandler,
    clientErrorHandler,
  });
  const access = new Access({ db: opts.lro.db, adminToken: opts.adminToken });
  const db = opts.lro.db;
  const ctx: HubContext = {
    lro: opts.lro,
    access,
    hosts: new HostStore({ db }),
    projects: new ProjectStore({ db }),
    regions: new RegionStore({ db }),
  };
  // JSON only: Fastify would read a text/plain body as a string, answered as a puzzling 400 ("expected object").
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  // A closing hub refuses what still arrives (on a kept-alive connection) with a 503: clients go to another.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    void reply.header('connection', 'close');
    throw new UnavailableError('the hub is shutting down: try again, or another hub');
  });
  // After the closing check: a closing hub answers 503 without a database round trip for the token.
  installAuth(app, access);
  // Bearer tokens, no cookies: any page may call the API (the embeddable element lives on other origins).
  // The operator's routes are not for pages: a page on another site must not read /metrics or /readyz
  // through a browser that happens to reach the hub (host ids, queue depths).
  const corsOptions = { allowedHeaders: ['authorization', 'content-type', 'last-event-id'], maxAge: 600 };
  void app.register(cors, {
    delegator: (req, cb) => cb(null, { ...corsOptions, origin: !forOperator(req as FastifyRequest) }),
  });
  void app.register(helmet, API_HEADERS); // the page's routes add their own CSP (src/api/routes/ui.ts)
  installOpenApi(app);
  app.get('/healthz', doc(route.public, { summary: 'Alive (no database round trip)' }), async () => ({ ok: true }));
  // Routes in a plugin of their own, so they are added after helmet's onRoute hook (the page's CSP is a route option).
  void app.register(async (routes) => {
    uiRoutes(routes);
    opsRoutes(routes, ctx);
    domainRoutes(routes, ctx);
    projectRoutes(routes, ctx);
    scheduleRoutes(routes, ctx);
    copyRoutes(routes, ctx);
    metricsRoutes(routes, ctx, opts.metrics);
  });
  return app;
}

/** Fastify's logging options: a redacting child of the process's logger, the older pino options, or none. */
function hubLogging(opts: HubOptions): { loggerInstance: FastifyBaseLogger } | { logger: false | object } {
  if (opts.log) return { loggerInstance: opts.log.child({}, { serializers: logRedaction.serializers, redact: logRedaction.redact }) };
  if (opts.logger) return { logger: { ...opts.logger, ...logRedaction } };
  return { logger: false };
}
