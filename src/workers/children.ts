/**
 * Parent ops and their children: a handler makes child ops (each with `parent_id` = its op) and
 * waits for them, their progress rolled up into one phase of its own bar: a finished child counts
 * 1, a running one its percent. Each child is named by a key (its dedupe key), so an attempt that
 * runs again finds the children an earlier attempt made instead of making them twice.
 */
import type { HandlerContext } from '../lro/kinds.js';
import type { CreateOptions } from '../lro/create-options.js';
import type { Operation } from '../shared/operation.js';
import { isTerminal } from '../shared/status.js';

/** What a parent needs of the engine (an Lro gives it). */
export interface ChildOps {
  createMany(requests: unknown[], opts: CreateOptions): Promise<string[]>;
  children(parentId: string): Promise<Operation[]>;
  cancel(opId: string): Promise<unknown>;
}

export interface ChildRequest {
  /** Unique among this parent's children (its dedupe key is `child:<parent op id>:<key>`). */
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
  // The dedupe key names the parent too: two parents' children of one scope and kind never collide.
  const prefix = `child:${parentId}:`;
  const latest = async () => {
    const byKey = new Map<string, Operation>();
    for (const op of await ops.children(parentId)) {
      const key = op.dedupe_key?.startsWith(prefix) ? op.dedupe_key.slice(prefix.length) : null;
      if (key !== null && !byKey.has(key)) byKey.set(key, op);
    }
    return byKey;
  };
  const made = await latest();
  const missing = requests.filter((r) => {
    const op = made.get(r.key);
    return !op || (isDone(op) && op.status !== 'succeeded');
  });
  if (missing.length > 0) {
    const rows = missing.map((r) => ({ kind: r.kind, scope: r.scope, input: r.input ?? {}, dedupe_key: `${prefix}${r.key}` }));
    const made = await ops.createMany(rows, { parentId, createdBy: opts.createdBy ?? ctx.op.created_by });
    // Skipped only when one is still active under its key (an earlier attempt's, listed below) or at an account's cap.
    if (made.length < rows.length && (await latest()).size < requests.length) {
      throw new Error(`${rows.length - made.length} of ${rows.length} child ops could not be made (the account's cap of active ops?)`);
    }
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
