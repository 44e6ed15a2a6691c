/**
 * Authentication, once for every route: a route declares who may call it (`config.access`), a hook
 * resolves the caller before the route runs, and a route that declares nothing is refused when it is
 * registered, so no route is public by omission.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Access, Caller } from '../domain/access.js';

/**
 * Who may call a route: `public` (no token; the caller is not resolved), `account` (any valid token,
 * the admin's included), `admin` (only the admin token).
 */
export type RouteAccess = 'public' | 'account' | 'admin';
export const ROUTE_ACCESS: readonly RouteAccess[] = ['public', 'account', 'admin'];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; required on every route (see src/api/auth.ts). */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The caller, resolved before the handler runs; set on every route that is not `public`. */
    caller: Caller;
  }
}

const options = (access: RouteAccess) => ({ config: { access } });

/**
 * Shorthands for a route's options: `app.get(path, route.account, handler)`. Each read is a fresh
 * object: plugins write into a route's `config` (helmet does), which must not leak to other routes.
 */
export const route = {
  get public() {
    return options('public');
  },
  get account() {
    return options('account');
  },
  get admin() {
    return options('admin');
  },
};

/**
 * The token of a request: `Authorization: Bearer …`, else `?access_token=` (EventSource cannot send
 * headers). The query parameter is removed here, so no route's query schema needs to know it.
 */
function takeToken(request: FastifyRequest): string | undefined {
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.access_token;
  if (query && 'access_token' in query) delete query.access_token;
  const header = request.headers.authorization;
  const bearer = header && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined; // the scheme is case-insensitive
  return bearer ?? (typeof fromQuery === 'string' ? fromQuery : undefined);
}

/**
 * Installs the checks on `app` (before any route is added): registration fails for a route without
 * `config.access` (but CORS's preflight route, `OPTIONS *`, which is public by nature), and each
 * request's caller is resolved in `onRequest`, before its body is even read. A request that matched
 * a route with no declaration cannot happen; were it to, it is refused, never served as public.
 */
export function installAuth(app: FastifyInstance, access: Access): void {
  app.decorateRequest<Caller | null>('caller', null);
  app.addHook('onRoute', (r) => {
    if (r.method === 'OPTIONS' && r.url === '*') {
      r.config = { ...r.config, access: 'public' };
      return;
    }
    const declared = (r.config as { access?: unknown } | undefined)?.access;
    if (!ROUTE_ACCESS.includes(declared as RouteAccess)) {
      throw new Error(`route ${String(r.method)} ${r.url} declares no access: give it config.access ('public', 'account' or 'admin')`);
    }
  });
  app.addHook('onRequest', async (request) => {
    const token = takeToken(request);
    // The 404 handler answers the same to anyone.
    if (request.is404) return;
    const needed = request.routeOptions.config?.access;
    if (needed === 'public') return;
    if (needed !== 'account' && needed !== 'admin') throw new Error(`route ${request.routeOptions.url} declares no access`);
    request.caller = await access.authenticate(token);
    if (needed === 'admin') access.requireAdmin(request.caller);
  });
}
