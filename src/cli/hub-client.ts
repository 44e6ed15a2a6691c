/**
 * What `lro ops …` and `lro projects …` share: the hub's client from the flags, `--json` or words,
 * an op described for a person, and watching an op's progress bars.
 */
import type { Command } from 'commander';
import { LroClient, type CreateAnswer } from '../client/client.js';
import { loadConfig } from '../config.js';
import { UnauthenticatedError } from '../lro/errors.js';
import { shortOpId, type Operation } from '../shared/operation.js';
import { formatAmount } from '../shared/progress.js';
import { exitForStatus } from './exit-codes.js';

export interface HubFlags {
  url?: string;
  token?: string;
  json: boolean;
}

export const JSON_HELP = "print the hub's answer as JSON";

/** `--url`, `--token` and `--json` on a group of commands that call the hub. */
export function hubOptions(group: Command): Command {
  return group
    .option('--url <url>', 'hub URL (LRO_URL, default http://127.0.0.1:8080)')
    .option('--token <token>', 'API token (LRO_TOKEN, else LRO_ADMIN_TOKEN)')
    .option('--json', `${JSON_HELP} (every subcommand also takes --json)`);
}

/** The group's flags with a subcommand's own `--json` (`lro ops get <id> --json` and `lro ops --json get <id>` alike). */
export function flagsOf(group: Command, own: { json?: boolean }): HubFlags {
  const g = group.opts() as HubFlags;
  return { ...g, json: Boolean(g.json || own.json) };
}

export function hubClient(o: HubFlags): LroClient {
  const config = loadConfig();
  const token = o.token ?? config.LRO_TOKEN ?? config.LRO_ADMIN_TOKEN;
  if (!token) throw new UnauthenticatedError('no token: pass --token or set LRO_TOKEN');
  return new LroClient({ baseUrl: o.url ?? config.LRO_URL, token });
}

export const print = (value: unknown, json: boolean, text: () => string) => console.log(json ? JSON.stringify(value, null, 2) : text());

/** One line per op: its id, kind, status and scope. */
/** One op on a line: its whole id (a create's answer), or in lists its last 8 digits, as the page prints them. */
export const opLine = (op: Pick<Operation, 'op_id' | 'kind' | 'status' | 'scope_type' | 'scope_id'>, short = false) =>
  `${short ? shortOpId(op.op_id) : op.op_id}  ${op.kind.padEnd(short ? 21 : 15)} ${op.status.padEnd(9)} ${op.scope_type}:${op.scope_id}`;

const when = (t: Date | string | null) =>
  t
    ? new Date(t)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : null;

/** An op for a person (`lro ops get`): what it is, where it stands, how far it got, what went wrong. */
export function describeOp(op: Operation): string {
  const s = op.progress_summary;
  const status = [
    op.status,
    op.status === 'running' && op.cancel_requested_at ? 'cancel requested' : null,
    op.status === 'running' && s?.stalled ? 'stalled: no progress reported for a while, still heartbeating' : null,
    op.dismissed_at ? 'dismissed' : null,
  ].filter(Boolean);
  const phase = s?.phases.find((p) => p.phase === s.phase);
  const amount = phase?.total !== undefined ? ` ${formatAmount(phase.current ?? 0, phase.total, phase.unit)}` : '';
  const progress = s
    ? `${op.status === 'succeeded' ? 100 : Math.round(s.percent ?? 0)}% ${s.phase}${amount}${s.message ? ` (${s.message})` : ''}`
    : null;
  const rows: [string, string | null | undefined][] = [
    ['op', `${op.op_id} (short: ${shortOpId(op.op_id)})`],
    ['kind', `${op.kind} in ${op.scope_type}:${op.scope_id}`],
    ['status', status.join(', ')],
    ['attempts', `${op.attempt} of ${op.max_attempts}`],
    ['progress', progress],
    ['error', op.error ? `${op.error.message} (${op.error.code})` : null],
    [
      'last error',
      op.last_error && op.last_error.message !== op.error?.message ? `${op.last_error.message} (${op.last_error.code})` : null,
    ],
    ['result', op.result === null || op.result === undefined ? null : JSON.stringify(op.result)],
    ['parent', op.parent_id],
    ['created', when(op.created_at)],
    ['started', when(op.started_at)],
    ['finished', when(op.finished_at)],
  ];
  return rows
    .filter(([, v]) => v)
    .map(([k, v]) => `${k.padEnd(10)} ${v}`)
    .join('\n');
}

/**
 * A create's answer: `--json` prints the hub's answer as it is (the op with `created` and, when the
 * kind has some, `warnings`), one line when events follow (`--watch`); words otherwise, warnings on stderr.
 */
export function printCreated({ op, created, warnings }: CreateAnswer, json: boolean, oneLine = false): void {
  if (json) {
    const body = { ...op, created, ...(warnings.length ? { warnings } : {}) };
    console.log(oneLine ? JSON.stringify(body) : JSON.stringify(body, null, 2));
    return;
  }
  console.log(`${created ? 'created' : 'existing (an active op holds this dedupe key)'} ${opLine(op)}`);
  for (const w of warnings) console.error(`warning: ${w}`);
}

/**
 * The op's events until it ends: bars per phase on stderr (or, with `json`, one JSON event a line),
 * and the exit code from how it ended (0 succeeded, 3 failed, canceled or expired).
 */
export async function watchOp(c: LroClient, opId: string, json: boolean, fromSeq = 1): Promise<void> {
  const bars = json ? null : new (await import('./progress-bars.js')).PhaseBars(); // cli-progress: only here
  let status: string | undefined;
  for await (const event of c.watch(opId, { fromSeq })) {
    if (json) console.log(JSON.stringify(event));
    else bars!.show(event);
    if (event.event === 'summary') status = event.data.summary.status;
  }
  bars?.stop();
  if (status) process.exitCode = exitForStatus(status);
}
