/**
 * Parent ops and their children: a handler makes child ops (each with `parent_id` = its op) and
 * waits for them, their progress rolled up into one phase of its own bar: a finished child counts
 * 1, a running one its percent. Each child is named by a key (its dedupe key), so an attempt that
 * runs again finds the children an earlier attempt made instead of making them twice.
 */
import type { HandlerContext } from '../lro/kinds.js';
import type { CreateOptions } from '../lro/store.js';
import type { Operation } from '../shared/operation.js';
import { isTerminal } from '../shared/status.js';

/** What a parent needs of the engine (an Lro gives it). */
export interface ChildOps {
  createMany(requests: unknown[], opts: CreateOptions): Promise<string[]>;
  children(parentId: string): Promise<Operation[]>;
  cancel(opId: string): Promise<unknown>;
}

export interface ChildRequest {
  /** Unique among this parent's children: the child's dedupe key. */
  key: string;
  kind: string;
  scope: { type: string; id: string };
  input?: unknown;
}

const isDone = (op: Operation) => isTerminal(op.status);

/**
 * Makes the children not made yet (or whose last try ended other than succeeded, when `again`),
 * then reports their roll-up on `phase` until every one has ended; returns each key's op as it
 * ended. A canceled parent cancels its children that are still active.
 */
export async function runChildren(
  ctx: HandlerContext<unknown>,
  ops: ChildOps,
  phase: string,
  requests: ChildRequest[],
  opts: { pollMs?: number; createdBy?: string | null } = {},
): Promise<Map<string, Operation>> {
  const parentId = ctx.op.op_id;
  const latest = async () => {
    const byKey = new Map<string, Operation>();
    for (const op of await ops.children(parentId)) if (op.dedupe_key && !byKey.has(op.dedupe_key)) byKey.set(op.dedupe_key, op);
    return byKey;
  };
  const made = await latest();
  const missing = requests.filter((r) => {
    const op = made.get(r.key);
    return !op || (isDone(op) && op.status !== 'succeeded');
  });
  if (missing.length > 0) {
    const rows = missing.map((r) => ({ kind: r.kind, scope: r.scope, input: r.input ?? {}, dedupe_key: r.key }));
    await ops.createMany(rows, { parentId, createdBy: opts.createdBy ?? ctx.op.created_by });
  }
  const keys = new Set(requests.map((r) => r.key));
  for (;;) {
    const now = await latest();
    const mine = [...now.entries()].filter(([k]) => keys.has(k));
    const done = mine.filter(([, op]) => isDone(op)).length;
    const fraction = mine.reduce((sum, [, op]) => sum + (isDone(op) ? 1 : (op.progress_summary?.percent ?? 0) / 100), 0);
    const failed = mine.filter(([, op]) => isDone(op) && op.status !== 'succeeded').length;
    ctx.progress({
      phase,
      progress: { current: Math.round(fraction * 100) / 100, total: requests.length, unit: 'ops' },
      detail: { done, failed, children: mine.map(([key, op]) => ({ key, op_id: op.op_id, status: op.status })) },
    });
    if (done === requests.length) return new Map(mine);
    if (ctx.signal.aborted) {
      await Promise.all(mine.filter(([, op]) => !isDone(op)).map(([, op]) => ops.cancel(op.op_id).catch(() => {})));
      ctx.signal.throwIfAborted();
    }
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, opts.pollMs ?? 500);
      ctx.signal.addEventListener('abort', wake, { once: true });
    });
  }
}
