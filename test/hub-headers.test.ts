import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../src/api/security.js';
import { chromiumPath } from './helpers/binaries.js';
import { createLogger } from '../src/lro/log.js';
import { hubOp, openTestLro } from './helpers/lro.js';
import { ADMIN_TOKEN, rawRequest, readSse, startHub } from './helpers/hub.js';

/** The hub's request log keeps no token, and its answers carry the security headers a browser needs. */
const { lro } = await openTestLro();
await lro.workerPool({ concurrency: 4, summaryIntervalS: 0.1 }).start();
const log: string[] = [];
// The process's one logger, as the CLI gives it: the hub logs through a child of it that redacts tokens.
const { base, call } = await startHub(lro, {
  log: createLogger({ level: 'debug', destination: { write: (line) => void log.push(line) } }),
});

let account: { account_id: string; token: string };
let projectId: string;
let hostId: string;
beforeAll(async () => {
  account = (await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name: 'a' } })).body;
  projectId = (await call('POST', '/v1/projects', { token: account.token, body: { title: 't' } })).body.project_id;
  hostId = (
    await call('POST', '/v1/hosts', { token: ADMIN_TOKEN, body: { name: 'h', region: 'eu-central', admin_account_id: account.account_id } })
  ).body.host_id;
});

describe('tokens in query strings never reach the request log', () => {
  it('redactUrl replaces the value of any parameter named like a token, however it is spelled', () => {
    expect(redactUrl('/v1/ops?access_token=abc&limit=5')).toBe('/v1/ops?access_token=[redacted]&limit=5');
    expect(redactUrl('/v1/ops?limit=5&access%5Ftoken=abc&TOKEN=x&a=1')).toBe(
      '/v1/ops?limit=5&access%5Ftoken=[redacted]&TOKEN=[redacted]&a=1',
    );
    expect(redactUrl('/v1/ops?access_token')).toBe('/v1/ops?access_token=[redacted]');
    expect(redactUrl('/v1/ops')).toBe('/v1/ops');
    expect(redactUrl('/v1/ops;access_token=abc')).toBe('/v1/ops;access_token=[redacted]'); // a matrix-style path
    // The query is cut as Fastify cuts it: `;` and `#` are part of the value, which runs to the next `&`.
    expect(redactUrl('/v1/ops?access_token=adm;SECRETTAIL&limit=5')).toBe('/v1/ops?access_token=[redacted]&limit=5');
    expect(redactUrl('/v1/ops?access_token=abc#junk')).toBe('/v1/ops?access_token=[redacted]');
    expect(redactUrl('/v1/ops?access_%74oken%=abc')).toBe('/v1/ops?access_%74oken%=[redacted]'); // undecodable: redacted
  });

  it('a 404 does not echo a token put in the path, and the Bearer scheme is case-insensitive', async () => {
    const res = await call('GET', `/v1/ops;access_token=${account.token}`);
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.body)).not.toContain(account.token);
    const lower = await fetch(`${base}/v1/kinds`, { headers: { authorization: `bearer ${account.token}` } });
    expect(lower.status).toBe(200);
  });

  it("every route called with ?access_token= (the admin's and an account's) logs no token", async () => {
    const op = (
      await call('POST', '/v1/ops', {
        token: account.token,
        body: { kind: 'demo', scope: { type: 'project', id: projectId }, input: { steps: 1, step_ms: 0 } },
      })
    ).body;
    const failed = (
      await call('POST', '/v1/ops', { token: ADMIN_TOKEN, body: hubOp('demo', { steps: 1, step_ms: 0, fail_at_step: 1, permanent: true }) })
    ).body;
    await call('GET', `/v1/ops/${failed.op_id}/wait?timeout_s=20`, { token: ADMIN_TOKEN });
    const seen: number[] = [];
    for (const token of [ADMIN_TOKEN, account.token]) {
      const q = (path: string, name = 'access_token') =>
        `${base}${path}${path.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(token)}`;
      const get = async (path: string) => seen.push((await fetch(q(path))).status);
      const post = async (path: string, body?: unknown) =>
        seen.push(
          (
            await fetch(q(path), {
              method: 'POST',
              ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
            })
          ).status,
        );
      await post('/v1/ops', hubOp('demo', { steps: 1, step_ms: 0 }));
      await get(`/v1/ops/${op.op_id}`);
      await get(`/v1/ops/${op.op_id}/wait?timeout_s=20`);
      await get(`/v1/ops?limit=5&scope_type=project&scope_id=${projectId}`);
      await readSse(q(`/v1/ops/${op.op_id}/events`));
      await readSse(q(`/v1/ops/${op.op_id}/events?from_seq=1`, 'access%5Ftoken'));
      await post(`/v1/ops/${op.op_id}/cancel`);
      await post(`/v1/ops/${failed.op_id}/retry`);
      await post(`/v1/ops/${op.op_id}/dismiss`);
      await get('/v1/kinds');
      await post('/v1/accounts', { name: 'b' });
      await post('/v1/hosts', { name: 'h2', region: 'eu-central' });
      await get(`/v1/hosts/${hostId}`);
      await post('/v1/projects', { title: 'p' });
      await get(`/v1/projects/${projectId}`);
      await post(`/v1/projects/${projectId}/collaborators`, { account_id: account.account_id });
      await get(`/v1/projects/${projectId}/backups`);
      await get('/v1/regions?lat=1&lon=2');
      await get('/');
      await get(`/ops/${op.op_id}`);
      await get('/assets/app.js');
      await get('/assets/lro-progress.js');
      await get('/healthz');
      await get('/v1/nowhere');
      await get(`/v1/ops/${'x'.repeat(500)}`); // a router error, logged through another path
      await get('/v1/ops?limit=nope'); // a 400
      seen.push((await fetch(`${base}/v1/ops;access_token=${encodeURIComponent(token)}`)).status); // a 404, token in the path
      await rawRequest(
        base,
        `GET /v1/ops?access_token=${token} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      await rawRequest(base, `GET /v1/ops?access_token=${token} HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n`);
    }
    expect(seen.filter((s) => s < 400).length).toBeGreaterThan(30); // the calls were real, most of them answered
    const text = log.join('');
    expect(text).toContain('access_token=[redacted]');
    expect(text).toContain('access%5Ftoken=[redacted]');
    for (const token of [ADMIN_TOKEN, account.token]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(encodeURIComponent(token));
      expect(text).not.toContain([...Buffer.from(token)].join(',')); // as bytes (Node's parse errors carry the raw packet)
    }
    expect(text).not.toMatch(/authorization/i);
    expect(text).toMatch(/client error 431/); // the parser's errors were logged, without their bytes
  });
});

describe('the older logger option (pino options), kept until the CLI passes log', () => {
  it('still logs requests, tokens redacted', async () => {
    const { buildHub } = await import('../src/api/app.js');
    const lines: string[] = [];
    const app = buildHub({ lro, adminToken: ADMIN_TOKEN, logger: { level: 'info', stream: { write: (line) => void lines.push(line) } } });
    try {
      expect((await app.inject({ method: 'GET', url: `/v1/kinds?access_token=${ADMIN_TOKEN}` })).statusCode).toBe(200);
      const text = lines.join('');
      expect(text).toContain('/v1/kinds?access_token=[redacted]');
      expect(text).not.toContain(ADMIN_TOKEN);
    } finally {
      await app.close();
    }
  });
});

describe('security headers', () => {
  const headersOf = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(base + path, init);
    await res.arrayBuffer();
    return res.headers;
  };

  it('the page: a strict CSP (scripts only from the hub, never framed), nosniff, X-Frame-Options DENY', async () => {
    for (const path of ['/', '/ops/00000000-0000-4000-8000-000000000000']) {
      const h = await headersOf(path);
      const csp = Object.fromEntries(
        h
          .get('content-security-policy')!
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .map(([k, ...v]) => [k, v]),
      );
      expect(csp).toMatchObject({
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'connect-src': ["'self'"],
        'frame-ancestors': ["'none'"],
        'object-src': ["'none'"],
      });
      expect(h.get('x-content-type-options')).toBe('nosniff');
      expect(h.get('x-frame-options')).toBe('DENY');
    }
  });

  it('the API, the event stream, the assets and error answers: nosniff, and loadable from other origins', async () => {
    const origin = { origin: 'http://elsewhere.example' };
    const auth = { ...origin, authorization: `Bearer ${ADMIN_TOKEN}` };
    const op = (await call('POST', '/v1/ops', { token: ADMIN_TOKEN, body: hubOp('demo', { steps: 1, step_ms: 0 }) })).body;
    await call('GET', `/v1/ops/${op.op_id}/wait?timeout_s=20`, { token: ADMIN_TOKEN });
    for (const [path, headers] of [
      ['/v1/ops', auth],
      [`/v1/ops/${op.op_id}/events`, auth],
      ['/assets/lro-progress.js', origin],
      ['/v1/nowhere', origin],
    ] as const) {
      const h = await headersOf(path, { headers });
      expect(h.get('x-content-type-options'), path).toBe('nosniff');
      expect(h.get('cross-origin-resource-policy'), path).toBe('cross-origin');
      expect(h.get('access-control-allow-origin'), path).toBe('http://elsewhere.example');
      expect(h.get('content-security-policy'), path).toMatch(/default-src 'none'/);
      expect(h.get('strict-transport-security'), path).toBeNull();
    }
    expect((await headersOf(`/v1/ops/${'x'.repeat(500)}`)).get('x-content-type-options')).toBe('nosniff');
  });

  it('in Chromium the page runs under its CSP without a single violation', async () => {
    const op = (
      await call('POST', '/v1/ops', {
        token: account.token,
        body: { kind: 'demo', scope: { type: 'project', id: projectId }, input: { steps: 2, step_ms: 10 } },
      })
    ).body;
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
      });
      await page.addInitScript(() =>
        document.addEventListener('securitypolicyviolation', (e) =>
          console.error(`Refused to (CSP) ${e.violatedDirective} ${e.blockedURI}`),
        ),
      );
      await page.goto(`${base}/ops/${op.op_id}#token=${account.token}`);
      await expect.poll(() => page.locator('lro-progress .status-text').textContent(), { timeout: 20_000 }).toBe('succeeded');
      await page.goto(`${base}/`);
      await expect.poll(() => page.locator('tbody tr').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
