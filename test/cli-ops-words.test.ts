import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { streamOf } from '../src/lro/streams/types.js';
import { CLI_TIMEOUT, lroCliFor, outcome } from './helpers/cli.js';
import { ADMIN_TOKEN, startHub } from './helpers/hub.js';
import { openTestLro } from './helpers/lro.js';

// What `lro ops …` says without --json, and the mistakes it words itself, against a hub whose pool
// marks an op stalled after 1 s without progress (heartbeats every 0.2 s carry the check).
const { lro } = await openTestLro();
await lro.workerPool({ concurrency: 4, summaryIntervalS: 0.2, heartbeatS: 0.2, stallS: 1 }).start();
const { base, call } = await startHub(lro);
const lroCli = lroCliFor({ LRO_URL: base });

describe('lro ops in words', () => {
  it(
    'create takes its options; get, cancel, retry, dismiss and list pages say what happened; mistakes in the CLI words',
    async () => {
      const owner = (await call('POST', '/v1/accounts', { token: ADMIN_TOKEN, body: { name: 'words' } })).body;
      const projectId = (await call('POST', '/v1/projects', { token: owner.token, body: { title: 'w' } })).body.project_id;
      const env = { LRO_TOKEN: owner.token };
      const fails = (args: string[]) => outcome(lroCli(args, env));
      const scope = `project:${projectId}`;

      const proj = await fails(['ops', 'create', 'demo', '--scope', `proj:${projectId}`]);
      expect([proj.code, proj.stderr.trim()]).toEqual([
        2,
        `lro: --scope proj:${projectId} is not a scope: give project:<id>, account:<id>, host:<id> or hub`,
      ]);
      expect((await fails(['ops', 'create', 'demo', '--scope', 'project:p1'])).stderr).toContain('"p1" is not a project id (a uuid)');
      const status = await fails(['ops', 'list', '--status', 'done,running']);
      expect([status.code, status.stderr.trim()]).toEqual([
        2,
        'lro: --status done: not a status; give a comma-separated list of queued,running,succeeded,failed,canceled,expired',
      ]);
      const hub = await fails(['ops', 'create', 'demo', '--scope', 'hub']);
      expect([hub.code, hub.stderr.trim()]).toEqual([
        1,
        'lro: only the admin (LRO_ADMIN_TOKEN) may create ops in the hub scope; use a project, account or host scope',
      ]);

      const hang = ['ops', 'create', 'demo', '--scope', scope, '--input', '{"steps":2,"step_ms":10,"hang":true}'];
      const opts = ['--max-attempts', '2', '--priority', '5', '--dedupe-key', 'k', '--ttl', '600'];
      const created = JSON.parse((await lroCli([...hang, ...opts, '--json'], env)).stdout);
      expect(created).toMatchObject({ created: true, max_attempts: 2, priority: 5, dedupe_key: 'k', expires_at: expect.any(String) });
      expect((await lroCli([...hang, '--dedupe-key', 'k'], env)).stdout).toMatch(/^existing \(an active op holds this dedupe key\) /);
      // It reports its first step, then nothing: stalled (this pool's stall_s is 1 s), still running.
      const op = await lro.store.get(created.op_id);
      for await (const item of lro.streams.read(streamOf(op), { fromSeq: 1 })) if (item.type === 'summary' && item.summary.stalled) break;
      const short = created.op_id.slice(-8);
      expect((await lroCli(['ops', 'get', short], env)).stdout).toMatch(
        /^status +running, stalled: no progress reported for a while, still heartbeating$/m,
      );
      // A cancel asks it to stop.
      expect((await lroCli(['ops', 'cancel', short], env)).stdout).toMatch(/^cancel requested: .* running /);
      expect((await fails(['ops', 'wait', short])).code).toBe(3);
      const got = (await lroCli(['ops', 'get', short], env)).stdout;
      expect(got).toMatch(new RegExp(`^op +${created.op_id} \\(short: ${short}\\)$`, 'm'));
      expect(got).toMatch(/^status +canceled$/m);
      expect(got).toMatch(/^attempts +1 of 2$/m);
      expect(got).toMatch(/^progress +\d+% prepare 1\/2 steps \(step 1 of 2\)$/m);
      expect(got).toMatch(/^error +canceled by request \(canceled\)$/m);
      const retried = (await lroCli(['ops', 'retry', short], env)).stdout;
      expect(retried).toMatch(/^retried as [0-9a-f-]{36} {2}demo +(queued|running) /);
      const quick = (await lroCli(['ops', 'create', 'demo', '--scope', scope, '--input', '{"steps":1,"step_ms":1}'], env)).stdout;
      const quickId = quick.split(/\s+/)[1]!;
      await lro.wait(quickId, 20_000);
      const again = await fails(['ops', 'retry', quickId]);
      expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('already succeeded: there is nothing to retry')]);
      expect((await lroCli(['ops', 'dismiss', quickId], env)).stdout).toMatch(/^dismissed .*\nit no longer shows in lists/);
      // Queued on a host that no pool serves: canceled at once.
      const stuck = (await lro.store.create({ kind: 'demo', scope: { type: 'project', id: projectId }, input: { host_id: randomUUID() } }))
        .op;
      expect((await lroCli(['ops', 'cancel', stuck.op_id], env)).stdout).toMatch(/^canceled [0-9a-f-]{36} {2}demo +canceled /);

      const first = await lroCli(['ops', 'list', '--scope', scope, '--limit', '1'], env);
      const cursor = first.stderr.match(/^more ops: add --cursor (\S+) for the next page$/m)![1]!;
      const second = await lroCli(['ops', 'list', '--scope', scope, '--limit', '1', '--cursor', cursor], env);
      expect(second.stdout.split('\n')[0]).not.toBe(first.stdout.split('\n')[0]);
      expect((await lroCli(['ops', 'list', '--scope', scope, '--status', 'canceled,succeeded', '--limit', '500'], env)).stderr).toBe('');
    },
    CLI_TIMEOUT,
  );
});
