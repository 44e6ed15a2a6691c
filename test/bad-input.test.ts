import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildHub } from '../src/api/app.js';
import { translatePgError } from '../src/lro/errors.js';
import type { KindDefinition } from '../src/lro/kinds.js';
import { hubOp, openTestLro } from './helpers/lro.js';
import { ADMIN_TOKEN, rawRequest, startHub } from './helpers/hub.js';
import { testKinds } from './helpers/kinds.js';

/**
 * Every bad input a caller can send answers a 4xx in `{"error": {code, message, details?}}`, writes
 * nothing, and logs nothing at error level (the hub's log is read back at the end).
 */
/** A kind whose schema takes any JSON: the store's own NUL check is what stands between it and jsonb. */
const anyJson: KindDefinition<unknown, null> = { name: 'any-json', input: z.unknown(), result: z.null(), run: async () => null };
const { lro } = await openTestLro({ kinds: testKinds().register(anyJson) });
await lro.workerPool({ concurrency: 2, summaryIntervalS: 0.1 }).start();
const log: string[] = [];
const { base, call } = await startHub(lro, { logger: { level: 'info', stream: { write: (line) => void log.push(line) } } });
const NUL = '\u0000';
const QUICK = { steps: 1, step_ms: 0 };

let account: { account_id: string; token: string };
beforeAll(async () => {
  account = (await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name: 'a' } })).body;
  await call('POST', '/v1/projects', { token: account.token, body: { title: 't' } });
});

const rowCounts = async () =>
  (
    await lro.db.query(`SELECT (SELECT count(*) FROM long_running_operations)::int AS ops,
  (SELECT count(*) FROM accounts)::int AS accounts, (SELECT count(*) FROM hosts)::int AS hosts,
  (SELECT count(*) FROM projects)::int AS projects`)
  ).rows[0];

/** The shape every error answer has, whatever produced it. */
function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(status);
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(res.body.error).toMatchObject({ code, message: expect.any(String) });
}

/** One HTTP/1.1 request written on a raw socket (to send what fetch refuses to), the JSON answer parsed. */
async function rawJson(head: string): Promise<{ status: number; headers: string; body: any }> {
  const res = await rawRequest(base, head);
  return { ...res, body: JSON.parse(res.body) };
}

describe('a NUL character (or a lone surrogate) in any string is a 400 invalid_input, and nothing is written', () => {
  const cases: [string, string, string, () => object][] = [
    ['dedupe_key', 'POST', '/v1/ops', () => ({ body: { ...hubOp('demo'), dedupe_key: `k${NUL}` } })],
    ['demo phases', 'POST', '/v1/ops', () => ({ body: hubOp('demo', { phases: [`a${NUL}b`] }) })],
    ['a key of the input', 'POST', '/v1/ops', () => ({ body: hubOp('any-json', { [`st${NUL}eps`]: 1 }) })],
    ['a string deep in the input', 'POST', '/v1/ops', () => ({ body: hubOp('any-json', [[{ a: [`x${NUL}`] }]]) })],
    ['kind', 'POST', '/v1/ops', () => ({ body: hubOp(`demo${NUL}`) })],
    ['project title', 'POST', '/v1/projects', () => ({ token: account.token, body: { title: `t${NUL}` } })],
    ['backup_region', 'POST', '/v1/projects', () => ({ token: account.token, body: { title: 't', backup_region: `eu${NUL}` } })],
    ['account name', 'POST', '/v1/accounts', () => ({ body: { name: `n${NUL}` } })],
    ['host name', 'POST', '/v1/hosts', () => ({ body: { name: `h${NUL}`, region: 'eu-central' } })],
    ['host region', 'POST', '/v1/hosts', () => ({ body: { name: 'h', region: `eu${NUL}` } })],
    ['kind filter', 'GET', '/v1/ops?kind=demo%00', () => ({})],
    ['scope_id filter', 'GET', '/v1/ops?scope_type=project&scope_id=%00', () => ({})],
    ['cursor', 'GET', '/v1/ops?cursor=%00', () => ({})],
    ['a lone surrogate in dedupe_key', 'POST', '/v1/ops', () => ({ body: { ...hubOp('demo'), dedupe_key: 'k\ud800' } })],
    ['a lone surrogate in the input', 'POST', '/v1/ops', () => ({ body: hubOp('any-json', { a: 'x\udc00y' }) })],
  ];
  it.each(cases)('%s', async (_name, method, path, opts) => {
    const before = await rowCounts();
    const res = await call(method, path, { token: ADMIN_TOKEN, ...opts() });
    expectError(res, 400, 'invalid_input');
    expect(res.body.error.message).toMatch(/NUL character/);
    expect(await rowCounts()).toEqual(before);
  });

  it('well-formed text, emoji (a surrogate pair) included, is taken as it is', async () => {
    const res = await call('POST', '/v1/projects', { token: account.token, body: { title: 'launch 🚀 ünïcode' } });
    expect(res.status).toBe(201);
    expect(res.body.title).toBe('launch 🚀 ünïcode');
    const op = await call('POST', '/v1/ops', { token: ADMIN_TOKEN, body: hubOp('any-json', { '🚀': ['é', 'x\\u0000 is only text'] }) });
    expect(op.status).toBe(201);
  });

  it('a library caller of the store meets the same check, at any depth of the input', async () => {
    const deep = { a: [{ b: [1, { c: `x${NUL}` }] }] };
    await expect(lro.store.create(hubOp('any-json', deep))).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/input\.a\[0\]\.b\[1\]\.c must not contain a NUL/),
    });
  });

  it('an input nested 20,000 deep (40 KB) is a 400: Node cannot serialise it, and Postgres could not parse it (54001)', async () => {
    const raw = `{"kind":"any-json","scope":{"type":"hub"},"input":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const res = await call('POST', '/v1/ops', { token: ADMIN_TOKEN, raw });
    expectError(res, 400, 'invalid_input');
    expect(res.body.error.message).toMatch(/not JSON-serialisable/);
  });

  it('what reaches Postgres anyway is translated: NUL in text (22021) and jsonb (22P05), numbers and times out of range', async () => {
    const statements: [string, unknown[]][] = [
      ['SELECT $1::text', [`a${NUL}`]],
      ['SELECT $1::jsonb', ['"a\\u0000"']],
      ['SELECT $1::int', ['2147483648']],
      ["SELECT 'epoch'::timestamptz + $1::bigint * interval '1 microsecond'", ['9223372036854775807']],
      ['SELECT $1::bigint', ['99999999999999999999']],
      ['SELECT $1::jsonb', [`${'['.repeat(20_000)}${']'.repeat(20_000)}`]],
    ];
    for (const [text, values] of statements) {
      const err = await lro.db.query(text, values).then(
        () => null,
        (e) => e,
      );
      expect(err, text).not.toBeNull();
      expect(translatePgError(err), `${text} (${err.code})`).toMatchObject({ code: 'invalid_input' });
    }
  });
});

describe('crafted cursors, stream positions and huge lists', () => {
  const uuid = '00000000-0000-4000-8000-000000000000';
  const cursor = (us: string) => Buffer.from(`${us}.${uuid}`).toString('base64url');

  it.each([
    ['a 20-digit epoch (over bigint)', '99999999999999999999'],
    ['the largest bigint (a timestamp overflow)', '9223372036854775807'],
    ['just past the year 9999', '253402300800000000'],
  ])('a cursor with %s is a 400', async (_name, us) => {
    const res = await call('GET', `/v1/ops?cursor=${cursor(us)}`, { token: ADMIN_TOKEN });
    expectError(res, 400, 'invalid_input');
    expect(res.body.error.message).toMatch(/cursor is invalid/);
  });

  it('a cursor at the epoch or in 9999 is a real (empty) page', async () => {
    await lro.store.create(hubOp('demo', QUICK));
    expect((await call('GET', `/v1/ops?cursor=${cursor('0')}`, { token: ADMIN_TOKEN })).body).toEqual({ ops: [], next_cursor: null });
    expect((await call('GET', `/v1/ops?cursor=${cursor('253402300799999999')}`, { token: ADMIN_TOKEN })).body.ops.length).toBeGreaterThan(
      0,
    );
  });

  it.each(['1e19', '1'.repeat(23), '-1', '0x10', '9007199254740992', '1.5'])(
    'Last-Event-ID %s is a 400, not a stream that dies',
    async (id) => {
      const op = (await call('POST', '/v1/ops', { token: ADMIN_TOKEN, body: hubOp('demo', QUICK) })).body;
      const res = await call('GET', `/v1/ops/${op.op_id}/events`, { token: ADMIN_TOKEN, headers: { 'last-event-id': id } });
      expectError(res, 400, 'invalid_input');
      expect(res.body.error.message).toMatch(/Last-Event-ID/);
      const query = await call('GET', `/v1/ops/${op.op_id}/events?from_seq=${id}`, { token: ADMIN_TOKEN });
      expectError(query, 400, 'invalid_input');
    },
  );

  it('a valid Last-Event-ID resumes after it', async () => {
    const op = (await call('POST', '/v1/ops', { token: ADMIN_TOKEN, body: hubOp('demo', { steps: 3, step_ms: 1 }) })).body;
    expect((await call('GET', `/v1/ops/${op.op_id}/wait?timeout_s=20`, { token: ADMIN_TOKEN })).body.status).toBe('succeeded');
    const res = await fetch(`${base}/v1/ops/${op.op_id}/events`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'last-event-id': '1' },
    });
    expect(res.status).toBe(200);
    const ids = [...(await res.text()).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids.length).toBeGreaterThan(0);
    expect(Math.min(...ids)).toBe(2);
  });

  it('7,000 statuses, 7,000 bad values, 7,000 unknown keys or a 60 KB key answer a 400 of a few KB', async () => {
    const list = await call('GET', `/v1/ops?status=${Array(7000).fill('x').join(',')}`, { token: ADMIN_TOKEN });
    expectError(list, 400, 'invalid_input');
    expect(list.bytes).toBeLessThan(8 * 1024);
    const manyIssues = await call('POST', '/v1/ops', {
      token: ADMIN_TOKEN,
      body: { ...hubOp('demo'), ...Object.fromEntries(Array.from({ length: 7000 }, (_, i) => [`field_${i}`, i])) },
    });
    expectError(manyIssues, 400, 'invalid_input');
    expect(manyIssues.bytes).toBeLessThan(8 * 1024);
    expect(manyIssues.body.error.details[0].keys).toHaveLength(21); // the first 20 and "… 6980 more"
    const wrong = { phases: Array(20).fill(7), steps: 'x', step_ms: 'x', hang: 'x', permanent: 'x', host_id: 1, fail_at_step: 'x' };
    const capped = await call('POST', '/v1/ops', { token: ADMIN_TOKEN, body: hubOp('demo', wrong) });
    expectError(capped, 400, 'invalid_input');
    expect(capped.body.error.details).toHaveLength(20);
    expect(capped.body.error.message).toMatch(/20 of 26 issues shown/);
    const hosts = await call('POST', '/v1/hosts', {
      token: ADMIN_TOKEN,
      body: Object.fromEntries(Array.from({ length: 7000 }, (_, i) => [`f${i}`, 1])),
    });
    expectError(hosts, 400, 'invalid_input');
    expect(hosts.bytes).toBeLessThan(8 * 1024);
    const bad = await call('GET', `/v1/regions?lat=x&lon=${'y'.repeat(10_000)}`, { token: ADMIN_TOKEN });
    expectError(bad, 400, 'invalid_input');
    expect(bad.bytes).toBeLessThan(8 * 1024);
    const longKey = await call('POST', '/v1/ops', { token: ADMIN_TOKEN, body: hubOp('any-json', { [`${'k'.repeat(60_000)}${NUL}`]: 1 }) });
    expectError(longKey, 400, 'invalid_input');
    expect(longKey.bytes).toBeLessThan(8 * 1024);
  });
});

describe("Fastify's and Node's own errors keep their status, in our shape", () => {
  it('a 5,000-character path parameter: 414 uri_too_long', async () => {
    const res = await call('GET', `/v1/ops/${'a'.repeat(5000)}`, { token: ADMIN_TOKEN });
    expectError(res, 414, 'uri_too_long');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('bad percent-encoding in the path: 400 invalid_input', async () => {
    expectError(await call('GET', '/v1/ops/%E0%A4%A', { token: ADMIN_TOKEN }), 400, 'invalid_input');
  });

  it('a body that is not JSON: 415 unsupported_media_type; an empty JSON body: 400 invalid_json', async () => {
    expectError(
      await call('POST', '/v1/ops', { token: ADMIN_TOKEN, raw: '<op/>', headers: { 'content-type': 'application/xml' } }),
      415,
      'unsupported_media_type',
    );
    expectError(
      await call('POST', '/v1/ops', { token: ADMIN_TOKEN, raw: '{"kind":"demo"}', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
    expectError(
      await call('POST', '/v1/ops', { token: ADMIN_TOKEN, raw: '', headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_json',
    );
  });

  it("a 20 KB header: 431 headers_too_large, from Node's parser, before Fastify", async () => {
    const res = await rawJson(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.body).toEqual({ error: { code: 'headers_too_large', message: expect.stringMatching(/headers are too large/) } });
    expect(res.headers).toMatch(/x-content-type-options: nosniff/i);
  });

  it('a request reaching a closing hub: 503 unavailable', async () => {
    const hub = buildHub({ lro, adminToken: ADMIN_TOKEN, logger: false });
    let release!: () => void;
    const closingStarted = new Promise<void>((started) => {
      hub.addHook(
        'preClose',
        () =>
          new Promise<void>((resolve) => {
            release = resolve;
            started();
          }),
      );
    });
    await hub.listen({ host: '127.0.0.1', port: 0 });
    const closed = hub.close();
    await closingStarted; // still listening: the server stops accepting after the preClose hooks
    const res = await fetch(`http://127.0.0.1:${(hub.server.address() as AddressInfo).port}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: 'unavailable', message: expect.stringMatching(/shutting down/) } });
    release();
    await closed;
  });

  it('a malformed request line: 400 invalid_input', async () => {
    const res = await rawJson('GET /healthz HTTP/9.9 what\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
  });
});

it('none of these caller mistakes was logged at error level (no stack traces for them)', () => {
  const lines = log.map((l) => JSON.parse(l));
  expect(lines.length).toBeGreaterThan(50);
  expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  expect(log.join('\n')).not.toMatch(/"stack"/);
});
