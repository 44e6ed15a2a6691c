import { InvalidArgumentError, type Command } from 'commander';
import { LroClient } from '../client/client.js';
import { loadConfig } from '../config.js';
import { LroError } from '../lro/errors.js';
import { exitForStatus } from './exit-codes.js';
import { inputFlag, scopeFlag } from './flags.js';

const seconds = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 300) throw new InvalidArgumentError('must be a number of seconds from 0 to 300');
  return n;
};

function client(o: { url?: string; token?: string }): LroClient {
  const config = loadConfig();
  const token = o.token ?? config.LRO_TOKEN ?? config.LRO_ADMIN_TOKEN;
  if (!token) throw new LroError('unauthenticated', 'no token: pass --token or set LRO_TOKEN');
  return new LroClient({ baseUrl: o.url ?? config.LRO_URL, token });
}

const print = (value: unknown, json: boolean, text: () => string) => console.log(json ? JSON.stringify(value, null, 2) : text());
const line = (op: { op_id: string; kind: string; status: string; scope_type: string; scope_id: string }) =>
  `${op.op_id}  ${op.kind.padEnd(8)} ${op.status.padEnd(9)} ${op.scope_type}:${op.scope_id}`;

/** `lro ops …`: the hub's ops API from the command line, `--json` for scripts. */
export function opsCommands(program: Command): void {
  const ops = program
    .command('ops')
    .description('create, inspect and control ops through the hub (LRO_URL, LRO_TOKEN)')
    .option('--url <url>', 'hub URL (LRO_URL)')
    .option('--token <token>', 'API token (LRO_TOKEN)')
    .option('--json', 'print JSON', false);
  const g = () => ops.opts() as { url?: string; token?: string; json: boolean };

  ops
    .command('create <kind>')
    .description('create an op')
    .requiredOption('--scope <type:id>', 'project:<id>, account:<id>, host:<id> or hub')
    .option('--input <json>', 'input as JSON', '{}')
    .option('--dedupe-key <key>')
    .option('--ttl <seconds>')
    .action(async (kind: string, o) => {
      const { op, created } = await client(g()).create({
        kind,
        scope: scopeFlag(String(o.scope)),
        input: inputFlag(o.input),
        ...(o.dedupeKey ? { dedupe_key: o.dedupeKey } : {}),
        ...(o.ttl ? { ttl_s: Number(o.ttl) } : {}),
      });
      print({ op, created }, g().json, () => `${created ? 'created' : 'existing'} ${line(op)}`);
    });
  ops.command('get <op_id>').action(async (id: string) => {
    const op = await client(g()).get(id);
    print(op, g().json, () => line(op));
  });
  ops
    .command('list')
    .option('--scope <type:id>')
    .option('--kind <kind>')
    .option('--status <list>')
    .option('--parent <op_id>', 'the children of a parent op (a move, a host-off, a sweep)')
    .option('--limit <n>', '', '50')
    .action(async (o) => {
      const [scope_type, scope_id] = o.scope ? String(o.scope).split(':') : [];
      const page = await client(g()).list({
        scope_type,
        scope_id,
        kind: o.kind,
        status: o.status,
        parent_id: o.parent,
        limit: Number(o.limit),
      });
      print(page, g().json, () => page.ops.map(line).join('\n') || '(none)');
    });
  ops
    .command('wait <op_id>')
    .description('until the op ends or the timeout runs out; exit 0 succeeded, 3 failed/canceled/expired, 4 still queued/running')
    .option('--timeout <seconds>', 'at most 300', seconds, 30)
    .action(async (id: string, o) => {
      const op = await client(g()).wait(id, o.timeout);
      print(op, g().json, () => line(op));
      process.exitCode = exitForStatus(op.status);
    });
  for (const action of ['cancel', 'retry', 'dismiss'] as const) {
    ops.command(`${action} <op_id>`).action(async (id: string) => {
      const op = await client(g())[action](id);
      print(op, g().json, () => line(op));
    });
  }
  ops
    .command('watch <op_id>')
    .description('live progress, one bar per phase; resumes by itself; exit 0 succeeded, 3 failed/canceled/expired')
    .option('--from-seq <n>', 'first event', '1')
    .action(async (id: string, o) => {
      const c = client(g());
      await c.get(id); // an unreachable hub or an unknown op is an error now, not a watch that retries forever
      const bars = g().json ? null : new (await import('./progress-bars.js')).PhaseBars(); // cli-progress: only here
      let last: unknown;
      for await (const event of c.watch(id, { fromSeq: Number(o.fromSeq) })) {
        if (g().json) console.log(JSON.stringify(event));
        else bars!.show(event);
        last = event;
      }
      bars?.stop();
      const status = (last as { data?: { summary?: { status?: string } } })?.data?.summary?.status;
      if (status) process.exitCode = exitForStatus(status);
    });
}
