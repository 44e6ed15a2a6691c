import { InvalidArgumentError, type Command } from 'commander';
import { shortOpId, type Operation } from '../shared/operation.js';
import { STATUSES } from '../shared/status.js';
import { exitForStatus } from './exit-codes.js';
import { inputFlag, intFlag, opIdArg, scopeFlag, statusFlag } from './flags.js';
import { JSON_HELP, describeOp, flagsOf, hubClient, hubOptions, opLine, print, printCreated, watchOp } from './hub-client.js';

const seconds = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 300) throw new InvalidArgumentError('must be a number of seconds from 0 to 300');
  return n;
};

const OP_ID = 'op_id: its uuid, or 8+ hex digits from either end; lists print the last 8';

/** What a cancel did, in words: a queued op is canceled at once, a running one is asked to stop. */
function canceledText(op: Operation): string {
  if (op.status === 'running') {
    const wait = `lro ops wait ${shortOpId(op.op_id)}`;
    return `cancel requested: ${opLine(op)}\nits handler is told to stop now, and the op ends canceled (${wait})`;
  }
  return `canceled ${opLine(op)}`;
}

const retriedText = (op: Operation & { created?: boolean }) =>
  op.created === false ? `existing (an active op holds its dedupe key) ${opLine(op)}` : `retried as ${opLine(op)}`;

const dismissedText = (op: Operation) =>
  `dismissed ${opLine(op)}\nit no longer shows in lists (lro ops list --include-dismissed shows it); the op and its result are kept`;

/** `lro ops …`: the hub's ops API from the command line, `--json` for scripts. */
export function opsCommands(program: Command): void {
  const ops = hubOptions(program.command('ops').description('create, inspect and control ops through the hub (LRO_URL, LRO_TOKEN)'));

  ops
    .command('create <kind>')
    .description(
      'create an op (lro ops create demo --scope project:<id>); --json prints the hub answer: the op with created (and warnings)',
    )
    .requiredOption('--scope <type:id>', 'where the op acts: project:<id>, account:<id>, host:<id> or hub (the admin only)')
    .option('--input <json>', "the kind's input as JSON (GET /v1/kinds has each kind's schema)", '{}')
    .option('--dedupe-key <key>', 'while an op of this kind and scope with this key is queued or running, answer that op instead')
    .option('--ttl <seconds>', 'expire the op if it is still queued after this many seconds', intFlag(1, 365 * 86_400))
    .option('--max-attempts <n>', "attempts before it fails (default: the kind's)", intFlag(1, 100))
    .option('--priority <n>', 'higher runs first among your own ops: -100..100 (the admin: -1000..1000)', intFlag(-1000, 1000))
    .option('--json', JSON_HELP)
    .action(async (kind: string, o) => {
      const f = flagsOf(ops, o);
      const answer = await hubClient(f).create({
        kind,
        scope: scopeFlag(String(o.scope)),
        input: inputFlag(o.input),
        ...(o.dedupeKey ? { dedupe_key: o.dedupeKey } : {}),
        ...(o.ttl !== undefined ? { ttl_s: o.ttl } : {}),
        ...(o.maxAttempts !== undefined ? { max_attempts: o.maxAttempts } : {}),
        ...(o.priority !== undefined ? { priority: o.priority } : {}),
      });
      printCreated(answer, f.json);
    });

  ops
    .command('get <op_id>')
    .description(`an op: status, progress, attempts, error, result (${OP_ID})`)
    .option('--json', JSON_HELP)
    .action(async (id: string, o) => {
      const f = flagsOf(ops, o);
      const op = await hubClient(f).get(opIdArg(id));
      print(op, f.json, () => describeOp(op));
    });

  ops
    .command('list')
    .description('ops you may see, newest first, a page at a time')
    .option('--scope <type:id>', 'only this scope: project:<id>, account:<id>, host:<id> or hub')
    .option('--kind <kind>', 'only this kind')
    .option('--status <list>', `only these statuses, a comma-separated list (${STATUSES.join(',')})`)
    .option('--parent <op_id>', 'only the child ops of this op (a move, a host-off, a sweep) and its retries')
    .option('--include-dismissed', 'dismissed ops too')
    .option('--limit <n>', 'ops per page, 1 to 500', intFlag(1, 500), 50)
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed (next_cursor)')
    .option('--json', `${JSON_HELP}: {ops, next_cursor}`)
    .action(async (o) => {
      const f = flagsOf(ops, o);
      const c = hubClient(f);
      const scope = o.scope ? scopeFlag(String(o.scope)) : undefined;
      const page = await c.list({
        scope_type: scope?.type,
        scope_id: scope ? (scope.id ?? 'hub') : undefined,
        kind: o.kind,
        status: o.status ? statusFlag(String(o.status), STATUSES) : undefined,
        // A short id names the parent: the hub resolves it (the list filter takes only a whole id).
        parent_id: o.parent ? (await c.get(opIdArg(o.parent))).op_id : undefined,
        include_dismissed: o.includeDismissed ? true : undefined,
        limit: o.limit,
        cursor: o.cursor,
      });
      print(page, f.json, () => page.ops.map((op) => opLine(op, true)).join('\n') || '(none)');
      if (!f.json && page.next_cursor) console.error(`more ops: add --cursor ${page.next_cursor} for the next page`);
    });

  ops
    .command('wait <op_id>')
    .description('until the op ends or the timeout runs out; exit 0 succeeded, 3 failed/canceled/expired, 4 still queued/running')
    .option('--timeout <seconds>', 'at most 300', seconds, 30)
    .option('--json', JSON_HELP)
    .action(async (id: string, o) => {
      const f = flagsOf(ops, o);
      const op = await hubClient(f).wait(opIdArg(id), o.timeout);
      print(op, f.json, () => opLine(op));
      process.exitCode = exitForStatus(op.status);
    });

  const actions = [
    ['cancel', 'cancel a queued op at once, or ask a running one to stop (it then ends canceled); a finished op is refused', canceledText],
    ['retry', 'run a failed, canceled or expired op again, as a new op whose parent it is', retriedText],
    ['dismiss', 'hide a finished op from lists (it is kept, and lro ops get still shows it)', dismissedText],
  ] as const;
  for (const [action, description, text] of actions) {
    ops
      .command(`${action} <op_id>`)
      .description(`${description} (${OP_ID})`)
      .option('--json', JSON_HELP)
      .action(async (id: string, o) => {
        const f = flagsOf(ops, o);
        const op = await hubClient(f)[action](opIdArg(id));
        print(op, f.json, () => text(op));
      });
  }

  ops
    .command('watch <op_id>')
    .description('live progress, one bar per phase; resumes by itself; exit 0 succeeded, 3 failed/canceled/expired')
    .option('--from-seq <n>', 'the first event to show (1: from the start)', intFlag(1), 1)
    .option('--json', 'print each event as a line of JSON instead of bars')
    .action(async (id: string, o) => {
      const f = flagsOf(ops, o);
      const c = hubClient(f);
      // An unreachable hub or an unknown op is an error now, not a watch that retries forever; and a
      // short id becomes the whole one.
      const op = await c.get(opIdArg(id));
      await watchOp(c, op.op_id, f.json, o.fromSeq);
    });
}
