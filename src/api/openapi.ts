/**
 * The hub's OpenAPI 3.1 document, made from the routes themselves: each route declares its summary
 * and the zod schemas its handler validates with (`doc(route.account, {...})`), and the document is
 * built from what was registered — so a route, a field or a limit cannot drift from its description.
 * Served at `/openapi.json`; `docs/openapi.json` is the copy in the repository (a test keeps it equal).
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteAccess } from './auth.js';

/** lro's version, from its package.json (two folders up from src/api/ and from dist/api/ alike). */
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface RouteDoc {
  summary: string;
  description?: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The success status (default 200); `text/event-stream` routes say `sse`. */
  status?: number;
  sse?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What `/openapi.json` says of this route (src/api/openapi.ts). */
    doc?: RouteDoc;
  }
}

/** A route's options with its documentation: `app.get(path, doc(route.account, {summary, query}), handler)`. */
export const doc = <T extends { config: { access: RouteAccess } }>(opts: T, d: RouteDoc) => ({
  ...opts,
  config: { ...opts.config, doc: d },
});

interface Registered {
  method: string;
  url: string;
  access: RouteAccess;
  doc?: RouteDoc;
}

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });

const ERROR = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'a stable, machine-readable code (invalid_input, not_found, conflict, …)' },
        message: { type: 'string', description: 'what went wrong, in words a person can act on' },
        details: { description: 'what the code needs (the invalid fields, the reason of a conflict)' },
      },
    },
  },
};

/** Query or path parameters from an object schema's properties. */
function parameters(where: 'query' | 'path', schema: z.ZodType | undefined) {
  if (!schema) return [];
  const js = jsonSchema(schema) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    schema: s,
  }));
}

function operation(r: Registered) {
  const d = r.doc!;
  const status = String(d.status ?? 200);
  const errors = Object.fromEntries(
    [...(r.access === 'public' ? [] : ['401', '403']), '400', '404', '409', '503'].map((s) => [
      s,
      { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );
  return {
    summary: d.summary,
    ...(d.description ? { description: d.description } : {}),
    ...(r.access === 'public' ? { security: [] } : {}),
    'x-access': r.access,
    parameters: [...parameters('path', d.params), ...parameters('query', d.query)],
    ...(d.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(d.body) } } } } : {}),
    responses: {
      [status]: { description: d.sse ? 'server-sent events' : 'success', ...(d.sse ? { content: { 'text/event-stream': {} } } : {}) },
      ...errors,
    },
  };
}

/** Records every route as it is added; `/openapi.json` serves the document of those with a `doc`. */
export function installOpenApi(app: FastifyInstance): void {
  const routes: Registered[] = [];
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const config = (r.config ?? {}) as { access?: RouteAccess; doc?: RouteDoc };
    // As with access (auth.ts): an API route without its description is refused when it is added.
    if (r.url.startsWith('/v1/') && !config.doc)
      throw new Error(`route ${String(r.method)} ${r.url} has no doc: give it doc(route.…, {summary, …})`);
    for (const method of methods)
      if (method !== 'HEAD' && method !== 'OPTIONS') routes.push({ method, url: r.url, access: config.access!, doc: config.doc });
  });
  let built: object | null = null;
  app.get('/openapi.json', { config: { access: 'public', doc: { summary: 'This document' } } }, async () => {
    built ??= openApiDocument(routes);
    return built;
  });
}

/** The routes that have a `doc` as an OpenAPI document; the others (the page's, /assets) are not part of the API. */
export function openApiDocument(routes: Registered[]) {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes.filter((x) => x.doc).sort((a, b) => a.url.localeCompare(b.url))) {
    const path = r.url.replace(/:([a-z_]+)/g, '{$1}');
    (paths[path] ??= {})[r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'lro hub API',
      version: VERSION,
      description:
        'Long-running operations on Postgres: create, watch (SSE), cancel, retry; projects, hosts, backups and copies. ' +
        'Authenticate with `Authorization: Bearer <token>` (an account token, or the admin token). ' +
        'Every error answers `{error: {code, message, details?}}`.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: ERROR },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
