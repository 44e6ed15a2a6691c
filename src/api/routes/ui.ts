import type { FastifyInstance } from 'fastify';
import { assets, PAGE } from '../ui-assets.js';
import { PAGE_HEADERS } from '../security.js';
import { route } from '../auth.js';

/** The browser page at `/`, `/ops/<op_id>`, `/projects[/<id>]` and `/hosts/<id>`, and its bundles under `/assets/`. */
export function uiRoutes(app: FastifyInstance) {
  const page = async (_req: unknown, reply: { type(t: string): { send(b: string): unknown } }) =>
    reply.type('text/html; charset=utf-8').send(PAGE);
  // The page's CSP over the hub's headers (helmet merges route options over the global ones).
  app.get('/', { ...route.public, helmet: PAGE_HEADERS }, page);
  for (const path of ['/ops/:op_id', '/projects', '/projects/:id', '/hosts', '/hosts/:id', '/docs'])
    app.get(path, { ...route.public, helmet: PAGE_HEADERS }, page);
  app.get('/favicon.ico', route.public, async (_request, reply) => reply.code(204).send()); // none: no 404 in every console
  app.get('/assets/:file', route.public, async (request, reply) => {
    const { file } = request.params as { file: string };
    const text = (await assets()).get(file);
    if (!text) return reply.code(404).send({ error: { code: 'not_found', message: `no asset ${file}` } });
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(text);
  });
}
