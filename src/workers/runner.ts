import { setTimeout as delay } from 'node:timers/promises';
import { LroError } from '../lro/errors.js';
import type { KindDefinition } from '../lro/kinds.js';
import type { OpError, Operation } from '../lro/types.js';
import { AbortReason, PermanentError, abortCode, type AbortCode } from './abort.js';
import { backoffMs, DEFAULT_BACKOFF } from './backoff.js';
import type { Completer } from './completer.js';
import type { WorkerOps } from './ops.js';
import { ProgressTracker } from './progress.js';

export type Log = (message: string, level?: 'debug' | 'info' | 'warn' | 'error', fields?: object) => void;

/** One claimed op while its handler runs: its lease (epoch), abort controller and progress. */
export class RunningOp {
  readonly op: Operation;
  readonly epoch: number;
  readonly progress = new ProgressTracker();
  readonly #ac = new AbortController();

  constructor(op: Operation) {
    this.op = op;
    this.epoch = op.lease_epoch;
  }

  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  get abortCode(): AbortCode | null {
    return abortCode(this.#ac.signal);
  }

  /** Fires the handler's signal once; later reasons are ignored (the first one decides). */
  abort(code: AbortCode, message: string): void {
    if (!this.#ac.signal.aborted) this.#ac.abort(new AbortReason(code, message));
  }
}

export interface RunDeps {
  ops: WorkerOps;
  completer: Completer;
  log: Log;
  /** @default 3600 */
  defaultTimeoutS?: number;
}

/**
 * Runs the handler of one claimed op and records the outcome under the op's lease epoch:
 * result → succeeded (batched); cancel → canceled; shutdown → lease given back; lease lost →
 * nothing (another worker owns it); any other error → fail with backoff or for good.
 */
export async function runOp(r: RunningOp, kind: KindDefinition, deps: RunDeps): Promise<void> {
  const { op, epoch } = r;
  const timeoutS = kind.timeoutS ?? deps.defaultTimeoutS ?? 3600;
  const timer = setTimeout(() => r.abort('timeout', `attempt ran longer than ${timeoutS} s`), timeoutS * 1000);
  timer.unref();
  try {
    const input = kind.input.safeParse(op.input);
    if (!input.success) throw new PermanentError(`stored input no longer matches kind ${op.kind}`, 'invalid_input');
    const value = await kind.run({
      op, input: input.data, signal: r.signal, epoch, attempt: op.attempt,
      progress: (event) => r.progress.record(event),
      log: (message, level = 'info') => deps.log(message, level, { op_id: op.op_id }),
    });
    const result = kind.result.safeParse(value);
    if (!result.success) throw new PermanentError(`handler returned a result its kind does not allow`, 'invalid_result');
    if (r.abortCode === 'lease_lost') return deps.log(`op ${op.op_id}: result dropped, lease lost`, 'warn');
    deps.completer.push({ op_id: op.op_id, epoch, result: result.data, summary: r.progress.take() });
  } catch (err) {
    await settleFailure(r, err, kind, deps);
  } finally {
    clearTimeout(timer);
  }
}

async function settleFailure(r: RunningOp, err: unknown, kind: KindDefinition, deps: RunDeps): Promise<void> {
  const { op, epoch } = r;
  const ref = { op_id: op.op_id, epoch };
  switch (r.abortCode) {
    case 'lease_lost':
      return deps.log(`op ${op.op_id}: handler stopped, lease lost`, 'warn');
    case 'shutdown':
      await persist(() => deps.ops.release({ leases: [ref] }), deps.log);
      return;
    case 'canceled': {
      const done = await persist(() => deps.ops.finishCanceled({ ...ref, error: { code: 'canceled', message: 'canceled by request' } }), deps.log);
      if (done) return;
      break; // not a real cancel request (lost race): fall through to an ordinary failure
    }
  }
  const error = toOpError(err, r);
  const retryable = !(err instanceof PermanentError);
  const backoff = backoffMs(op.attempt, kind.backoff ?? DEFAULT_BACKOFF);
  await persist(() => deps.ops.fail({ ...ref, error, retryable, backoff_ms: backoff }), deps.log);
}

function toOpError(err: unknown, r: RunningOp): OpError {
  const reason = r.signal.aborted ? (r.signal.reason as Error) : null;
  const source = reason instanceof AbortReason && reason.code === 'timeout' ? reason : (err as Error);
  const code = (source as { code?: unknown })?.code;
  return {
    code: typeof code === 'string' ? code : 'handler_error',
    message: String(source?.message ?? source).slice(0, 2000),
    attempt: r.op.attempt,
    at: new Date().toISOString(),
  };
}

/** Retries a write through connection loss (the worker must not forget an outcome it holds). */
async function persist<T>(write: () => Promise<T>, log: Log): Promise<T | null> {
  for (let i = 0, wait = 50; ; i++, wait = Math.min(wait * 2, 2000)) {
    try {
      return await write();
    } catch (err) {
      if (err instanceof LroError) {
        log(err.message, 'warn'); // a refused write (lease lost): retrying cannot help
        return null;
      }
      if (i >= 12) {
        log(`giving up on a write: ${(err as Error).message}`, 'error');
        return null;
      }
      await delay(wait);
    }
  }
}
