import { randomUUID } from 'node:crypto';
import Fastify, { type RouteOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildHub } from '../src/api/app.js';
import { installAuth, ROUTE_ACCESS } from '../src/api/auth.js';
import { Access } from '../src/domain/access.js';
import { openTestLro } from './helpers/lro.js';
import { ADMIN_TOKEN } from './helpers/hub.js';

const { lro } = await openTestLro();

/** Every route of a hub, as registered (HEAD twins included), once it is ready. */
async function hubRoutes() {
  const app = buildHub({ lro, adminToken: ADMIN_TOKEN, logger: false });
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (r) => void routes.push(r));
  await app.ready();
  return { app, routes };
}

describe('auth once', () => {
  it('every route declares its access; without a token every non-public /v1/ route is a 401', async () => {
    const { app, routes } = await hubRoutes();
    try {
      const v1 = routes.filter((r) => r.url.startsWith('/v1/') && r.method !== 'HEAD');
      expect(v1.length).toBeGreaterThanOrEqual(15);
      for (const r of routes) {
        expect(ROUTE_ACCESS, `${String(r.method)} ${r.url}`).toContain(r.config?.access);
      }
      for (const r of v1.filter((r) => r.config?.access !== 'public')) {
        const url = r.url.replace(/:[a-z_]+/g, randomUUID());
        const method = String(r.method) as 'GET' | 'POST';
        const res = await app.inject({ method, url, ...(method === 'POST' ? { payload: {} } : {}) });
        expect(res.statusCode, `${method} ${r.url}`).toBe(401);
        expect(res.json()).toMatchObject({ error: { code: 'unauthenticated' } });
        const bad = await app.inject({ method, url: `${url}?access_token=lro_nobody`, ...(method === 'POST' ? { payload: {} } : {}) });
        expect(bad.statusCode, `${method} ${r.url} with an unknown token`).toBe(401);
      }
    } finally {
      await app.close();
    }
  });

  it('a route that declares no access is refused when the app starts', async () => {
    const app = Fastify();
    installAuth(app, new Access({ db: lro.db }));
    expect(() => app.get('/v1/forgotten', async () => ({ secret: true }))).toThrow(/GET \/v1\/forgotten declares no access/);
    // Inside a plugin (as the hub adds its routes), the app does not start.
    void app.register(async (routes) => {
      routes.post('/v1/also-forgotten', async () => ({ secret: true }));
    });
    await expect(app.ready()).rejects.toThrow(/POST \/v1\/also-forgotten declares no access/);
    await app.close().catch(() => {});
  });

  it('admin routes refuse an account (403); ?access_token= is taken once, never seen by a query schema', async () => {
    const { app } = await hubRoutes();
    try {
      const made = await app.inject({ method: 'POST', url: `/v1/accounts?access_token=${ADMIN_TOKEN}`, payload: { name: 'q' } });
      expect(made.statusCode).toBe(201);
      const token = made.json().token as string;
      const asAccount = await app.inject({ method: 'POST', url: '/v1/hosts', headers: { authorization: `Bearer ${token}` }, payload: {} });
      expect(asAccount.statusCode).toBe(403);
      // Strict query schemas (list, wait, regions) accept the token as a parameter without naming it.
      for (const path of ['/v1/ops?limit=1', '/v1/regions?lat=1&lon=2', '/v1/kinds']) {
        const res = await app.inject({ method: 'GET', url: `${path}${path.includes('?') ? '&' : '?'}access_token=${token}` });
        expect(res.statusCode, path).toBe(200);
      }
      expect(
        (await app.inject({ method: 'GET', url: '/v1/ops?limit=1&nope=1', headers: { authorization: `Bearer ${token}` } })).statusCode,
      ).toBe(400);
    } finally {
      await app.close();
    }
  });
});
