import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { doc, installOpenApi } from '../src/api/openapi.js';
import { route } from '../src/api/auth.js';
import { keepScreenshot, openPage, useBrowser } from './helpers/browser.js';
import { startHub } from './helpers/hub.js';
import { openTestLro } from './helpers/lro.js';

// The API contract in the repository: the hub serves /openapi.json, made from the zod schemas its
// routes validate with; docs/openapi.json is that document (UPDATE_OPENAPI=1 rewrites it); /docs shows it.
const { lro } = await openTestLro();
const { base, call } = await startHub(lro);
const { browser } = useBrowser();
const FILE = 'docs/openapi.json';

describe('/openapi.json', () => {
  it('is public, OpenAPI 3.1, and describes every API route with the limits its schemas enforce', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const d = res.body;
    expect(d).toMatchObject({ openapi: '3.1.0', components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } });
    expect(Object.keys(d.paths)).toEqual(
      expect.arrayContaining([
        '/v1/ops',
        '/v1/ops/{op_id}/events',
        '/v1/projects/{id}/backups/{snapshot_id}/tree',
        '/v1/admin/schedules/{name}',
      ]),
    );
    const create = d.paths['/v1/ops'].post;
    expect(create.requestBody.content['application/json'].schema).toMatchObject({
      properties: { kind: { type: 'string', maxLength: 63 } },
      required: expect.arrayContaining(['kind', 'scope']),
    });
    const list = d.paths['/v1/projects'].get.parameters;
    expect(list.find((p: { name: string }) => p.name === 'limit')).toMatchObject({
      in: 'query',
      required: false,
      schema: { maximum: 500 },
    });
    expect(d.paths['/v1/ops/{op_id}'].get.parameters).toEqual([expect.objectContaining({ name: 'op_id', in: 'path', required: true })]);
    expect(d.paths['/healthz'].get).toMatchObject({ security: [], 'x-access': 'public' });
    expect(d.paths['/v1/accounts'].post['x-access']).toBe('admin');
    expect(Object.keys(d.paths)).not.toContain('/assets/{file}'); // the page's routes are not the API
  });

  it('docs/openapi.json in the repository is the document the hub serves', async () => {
    const served = `${JSON.stringify((await call('GET', '/openapi.json')).body, null, 2)}\n`;
    if (process.env.UPDATE_OPENAPI) writeFileSync(FILE, served);
    expect(readFileSync(FILE, 'utf8'), `${FILE} is out of date: run npm run openapi`).toBe(served);
  });

  it('an API route without its description is refused when it is added', async () => {
    const app = Fastify();
    installOpenApi(app);
    expect(() => app.get('/v1/undocumented', route.account, async () => ({}))).toThrow(/has no doc/);
    app.get('/v1/documented', doc(route.account, { summary: 'fine' }), async () => ({}));
    await app.close();
  });

  it('/docs shows every route, without signing in', async () => {
    const page = await openPage(browser(), base, '/docs', '');
    await page.locator('section.route').first().waitFor();
    const served = (await call('GET', '/openapi.json')).body;
    const count = Object.values(served.paths as Record<string, object>).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(await page.locator('section.route').count()).toBe(count);
    expect(await page.locator('section.route h2').first().textContent()).toMatch(/^(GET|POST|PUT|PATCH|DELETE) \//);
    await keepScreenshot(page, 'api-docs');
    await page.close();
  });
});
