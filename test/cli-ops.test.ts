import { describe, expect, it } from 'vitest';
import { shortOpId } from '../src/shared/operation.js';
import { freePort } from '../src/db/embedded.js';
import { operationInsertMany } from '../src/lro/sql/operations.js';
import { CLI_TIMEOUT, lroCliFor } from './helpers/cli.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';
import { openTestLro } from './helpers/lro.js';

const { lro, url } = await openTestLro();
await lro.workerPool({ concurrency: 4, summaryIntervalS: 0.2 }).start();
const { base, call } = await startHub(lro);
const lroCli = lroCliFor({ DATABASE_URL: url, LRO_URL: base });

describe('npx lro admin … and lro ops …', () => {
  it(
    'sets up an account and a project, then creates, waits for, watches and lists an op',
    async () => {
      const account = JSON.parse((await lroCli(['admin', 'account-create', 'cli-user'])).stdout);
      expect(account.token).toMatch(/^lro_/);
      const project = JSON.parse((await lroCli(['admin', 'project-create', '--title', 'p', '--owner', account.account_id])).stdout);
      const env = { LRO_TOKEN: account.token };
      const created = JSON.parse(
        (
          await lroCli(
            ['ops', '--json', 'create', 'demo', '--scope', `project:${project.project_id}`, '--input', '{"steps":3,"step_ms":20}'],
            env,
          )
        ).stdout,
      );
      // The hub's answer as it is: the op, with `created` beside its fields.
      expect(created).toMatchObject({ created: true, kind: 'demo', status: expect.stringMatching(/^(queued|running)$/) });
      const id = created.op_id;
      const watched = (await lroCli(['ops', '--json', 'watch', id], env)).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(watched.at(-1)).toMatchObject({ event: 'summary', data: { summary: { status: 'succeeded' } } });
      expect(watched.filter((e) => e.event === 'progress').length).toBeGreaterThan(0);
      const bars = await lroCli(['ops', 'watch', id], env);
      expect(bars.stdout + bars.stderr).toMatch(/finish\s+\|.*\| 100% 3\/3 steps/);
      expect((await lroCli(['ops', 'wait', id], env)).stdout).toContain('succeeded');
      expect((await lroCli(['ops', 'list', '--scope', `project:${project.project_id}`], env)).stdout).toContain(shortOpId(id));
      const refused = await lroCli(['ops', 'cancel', id], env).catch((e) => e);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/lro: op .* already succeeded/);
      const noToken = await lroCli(['ops', 'list'], { LRO_TOKEN: '', LRO_ADMIN_TOKEN: '' }).catch((e) => e);
      expect(noToken.stderr).toMatch(/no token/);
    },
    CLI_TIMEOUT,
  );

  it(
    'ops wait and watch tell the outcomes apart by exit code',
    async () => {
      const env = { LRO_TOKEN: ADMIN_TOKEN };
      const create = async (input: object) => (await lro.store.create({ kind: 'demo', scope: { type: 'hub' }, input })).op.op_id;
      const exitOf = (args: string[]) =>
        lroCli(args, env).then(
          () => 0,
          (e) => e.code as number,
        );

      expect(await exitOf(['ops', 'wait', await create({ steps: 2, step_ms: 10 })])).toBe(0);
      const failed = await create({ steps: 2, step_ms: 10, fail_at_step: 1, permanent: true });
      expect(await exitOf(['ops', 'wait', failed])).toBe(3);
      expect(await exitOf(['ops', 'watch', failed])).toBe(3);
      const hung = await create({ steps: 2, step_ms: 10, hang: true });
      const timedOut = await lroCli(['ops', 'wait', hung, '--timeout', '1'], env).catch((e) => e);
      expect(timedOut.code).toBe(4);
      expect(timedOut.stdout).toMatch(/ (queued|running) /);
      await lro.store.cancel(hung);
      expect(await exitOf(['ops', 'wait', hung])).toBe(3);
      const usage = await lroCli(['ops', 'wait', hung, '--timeout', 'soon'], env).catch((e) => e);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('must be a number of seconds from 0 to 300');
      const help = (await lroCli(['--help'])).stdout;
      expect(help).toMatch(
        /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 .*failed, canceled or expired\n {2}4 .*still queued or running/,
      );
    },
    CLI_TIMEOUT,
  );

  it('an unreachable hub is named, with what failed and LRO_URL', async () => {
    const port = await freePort();
    const err = await lroCli(['ops', 'list'], { LRO_URL: `http://127.0.0.1:${port}`, LRO_TOKEN: 'x' }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr.trim()).toBe(`lro: cannot reach the hub at http://127.0.0.1:${port} (ECONNREFUSED); set LRO_URL (or pass --url)`);
    const watch = await lroCli(['ops', 'watch', '00000000-0000-4000-8000-000000000000'], {
      LRO_URL: `http://127.0.0.1:${port}`,
      LRO_TOKEN: 'x',
    }).catch((e) => e);
    expect(watch.code).toBe(1);
    expect(watch.stderr).toContain(`lro: cannot reach the hub at http://127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('bad ids and bad JSON are clear errors', async () => {
    const bad = await lroCli(['admin', 'token-create', 'not-a-uuid']).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('account id is invalid');
    const badJson = await lroCli(['ops', 'create', 'demo', '--scope', 'hub', '--input', '{nope'], { LRO_TOKEN: 'x' }).catch((e) => e);
    expect(badJson.stderr).toContain('--input is not valid JSON');
    expect(badJson.code).toBe(2);
    const unknownKind = await lroCli(['ops', 'create', 'no-such-kind', '--scope', 'hub'], { LRO_TOKEN: ADMIN_TOKEN }).catch((e) => e);
    expect(unknownKind.code).toBe(2); // the hub's 400 is bad input too
    expect(unknownKind.stderr).toMatch(/^lro: .*no-such-kind/);
  });
});

describe('short op ids', () => {
  it(
    'the hub resolves 8+ hex digits from either end among the ops the caller may see; ambiguous or too short is a 400',
    async () => {
      const account = async (name: string) => (await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name } })).body;
      const [owner, other] = [await account('short-owner'), await account('short-other')];
      // Three ops whose ids share their first 8 digits: two in owner's account scope, one in other's.
      // Queued on a host no pool serves, so they stay as they are.
      const insert = (op_id: string, who: { account_id: string }) =>
        operationInsertMany(lro.db, [
          {
            op_id,
            kind: 'demo',
            scope_type: 'account',
            scope_id: who.account_id,
            routing: 'host:00000000-0000-4000-8000-000000000000',
            input: {},
            created_by: who.account_id,
            max_attempts: 1,
            lease_s: 30,
            priority: 0,
            dedupe_key: null,
            parent_id: null,
            ttl_s: null,
          },
        ]);
      const [a, b, hidden] = [
        '5e1ec7ed-0000-7000-8000-0000000a11ce',
        '5e1ec7ed-0000-7000-8000-0000000b0b00',
        '5e1ec7ed-ffff-7000-8000-0000deadbeef',
      ];
      await insert(a, owner);
      await insert(b, owner);
      await insert(hidden, other);
      const get = (ref: string, token: string) => call('GET', `/v1/ops/${ref}`, { token });

      expect((await get('000a11ce', owner.token)).body.op_id).toBe(a); // the last 8, as lists print them
      expect((await get('0000000B0B00', owner.token)).body.op_id).toBe(b); // more of them, any case
      expect((await get('5e1ec7ed-0000-7000-8000-0000000a', owner.token)).body.op_id).toBe(a); // a prefix
      const ambiguous = await get('5e1ec7ed', owner.token);
      expect(ambiguous.status).toBe(400);
      // Two, not three: the other account's op is not counted, nor named.
      expect(ambiguous.body.error.message).toBe(
        'op id 5e1ec7ed is ambiguous: 2 ops you can see match it; give more of its digits or the whole id',
      );
      expect((await get('5e1ec7ed', ADMIN_TOKEN)).body.error.message).toContain(': 3 ops you can see');
      expect((await get('deadbeef', owner.token)).status).toBe(404);
      expect((await get('deadbeef', other.token)).body.op_id).toBe(hidden);
      const short = await get('a11ce', owner.token);
      expect(short.status).toBe(400);
      expect(short.body.error.message).toContain('at least 8 of its hex digits from its start or its end');
      // Every :op_id route resolves the same way.
      expect((await call('GET', '/v1/ops/000a11ce/wait?timeout_s=0', { token: owner.token })).body.op_id).toBe(a);
      expect((await call('POST', '/v1/ops/000a11ce/cancel', { token: owner.token })).body).toMatchObject({ op_id: a, status: 'canceled' });
      expect((await call('POST', '/v1/ops/000a11ce/dismiss', { token: owner.token })).body).toMatchObject({ op_id: a });

      // The CLI passes them on: the same op, and the hub's words for an ambiguous id (exit 2).
      const env = { LRO_TOKEN: owner.token };
      expect(JSON.parse((await lroCli(['ops', '--json', 'get', '0b0b00'.padStart(8, '0')], env)).stdout).op_id).toBe(b);
      const cli = await lroCli(['ops', 'get', '5e1ec7ed'], env).catch((e) => e);
      expect(cli.code).toBe(2);
      expect(cli.stderr).toContain('lro: op id 5e1ec7ed is ambiguous: 2 ops you can see match it');
      const tooShort = await lroCli(['ops', 'get', 'a11ce'], env).catch((e) => e);
      expect([tooShort.code, tooShort.stderr.trim()]).toEqual([
        2,
        'lro: "a11ce" is not an op id: give its uuid, or at least 8 of its hex digits from its start or its end (lists print the last 8)',
      ]);
    },
    CLI_TIMEOUT,
  );
});

describe('lro admin schedule-…', () => {
  it(
    'sets, lists, runs and removes a schedule; a bad cron or input is exit 2 and stores nothing',
    async () => {
      const set = JSON.parse((await lroCli(['admin', 'schedule-set', 'hourly', '--cron', '0 * * * *', '--kind', 'backup-sweep'])).stdout);
      expect(set).toMatchObject({ name: 'hourly', cron: '0 * * * *', timezone: 'UTC', kind: 'backup-sweep', scope: { type: 'hub' } });
      const bad = await lroCli(['admin', 'schedule-set', 'hourly', '--cron', 'hourly please', '--kind', 'backup-sweep']).catch((e) => e);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^lro: cron: hourly please in UTC is not a schedule/m);
      const badInput = await lroCli([
        'admin',
        'schedule-set',
        'hourly',
        '--cron',
        '* * * * *',
        '--kind',
        'backup-sweep',
        '--input',
        '{x',
      ]).catch((e) => e);
      expect(badInput.stderr).toContain('--input is not valid JSON');
      const { schedules } = JSON.parse((await lroCli(['admin', 'schedule-list'])).stdout);
      expect(schedules).toEqual([expect.objectContaining({ name: 'hourly', cron: '0 * * * *' })]);
      const op = JSON.parse((await lroCli(['admin', 'schedule-run', 'hourly'])).stdout);
      expect(op).toMatchObject({ kind: 'backup-sweep', dedupe_key: 'schedule:hourly' });
      expect(JSON.parse((await lroCli(['admin', 'schedule-remove', 'hourly'])).stdout)).toEqual({ removed: 'hourly' });
      expect(JSON.parse((await lroCli(['admin', 'schedule-list'])).stdout)).toEqual({ schedules: [] });
    },
    CLI_TIMEOUT,
  );
});

describe('lro admin refuses bad input as the API does', () => {
  it(
    'an empty name, a name too long, an unknown region: exit 2 and the same clear message, nothing written',
    async () => {
      const before = (await lro.db.query('SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM hosts) AS n')).rows[0].n;
      const cases: [string[], RegExp][] = [
        [['admin', 'account-create', ''], /^lro: account is invalid: ✖ Too small: expected string to have >=1 characters/],
        [['admin', 'account-create', 'x'.repeat(201)], /^lro: account is invalid: ✖ Too big: expected string to have <=200 characters/],
        [
          ['admin', 'host-create', '--name', 'h', '--region', 'mars'],
          /^lro: --region "mars" is not a backup region; GET \/v1\/regions lists them/,
        ],
      ];
      for (const [args, message] of cases) {
        const err = await lroCli(args).catch((e) => e);
        expect({ args, code: err.code }).toEqual({ args, code: 2 });
        expect(err.stderr.split('\n').find((l: string) => l.startsWith('lro: '))).toMatch(message);
      }
      const after = (await lro.db.query('SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM hosts) AS n')).rows[0].n;
      expect(after).toBe(before);
    },
    CLI_TIMEOUT,
  );
});
