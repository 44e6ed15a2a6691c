import { LroError } from '../lro/errors.js';
import type { HostEnv, KindDefinition } from '../lro/kinds.js';
import { bounded } from '../lro/schemas.js';
import type { OpError, Operation } from '../shared/operation.js';
import { AbortReason, PermanentError, abortCode, type AbortCode } from './abort.js';
import { backoffMs, DEFAULT_BACKOFF, retry } from '../shared/backoff.js';
import { DEFAULTS, RETRY } from '../shared/defaults.js';
import type { OpEvents } from '../lro/op-events.js';
import { validateEvent } from '../lro/streams/types.js';
import type { Completer } from './completer.js';
import type { WorkerOps } from './ops.js';
import { ProgressTracker } from './progress.js';
import type { OpPublisher } from './publisher.js';
import { systemClock, type Clock } from '../lro/clock.js';
import type { Logger } from '../lro/log.js';

/** One claimed op while its handler runs: its lease (epoch), abort controller and progress. */
export class RunningOp {
  readonly op: Operation;
  readonly epoch: number;
  readonly progress: ProgressTracker;
  readonly publisher: OpPublisher | null;
  /** When the lease was last renewed, on the pool's clock (the heartbeat skips ops that are not due). */
  lastBeatAt: number;
  readonly #ac = new AbortController();

  constructor(op: Operation, publisher: OpPublisher | null = null, clock: Clock = systemClock) {
    this.op = op;
    this.epoch = op.lease_epoch;
    this.publisher = publisher;
    this.progress = new ProgressTracker(() => clock.now());
    this.lastBeatAt = clock.now();
  }

  /** The op as it stands in this worker, for a summary event. */
  live(): Operation {
    return { ...this.op, progress_summary: this.progress.summary() ?? null };
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
  /** The pool's logger: each op logs through a child bound to its `op_id` and `kind`. */
  log: Logger;
  events: OpEvents | null;
  /** Stamps errors and the statements' `now`. @default systemClock */
  clock?: Clock;
  /** @default DEFAULTS.handlerTimeoutS */
  defaultTimeoutS?: number;
  /** The host whose pool runs it (`ctx.host`). @default null */
  host?: HostEnv | null;
}

/**
 * Runs the handler of one claimed op and records the outcome under the op's lease epoch:
 * result → succeeded (batched); cancel → canceled; shutdown → lease given back; lease lost →
 * nothing (another worker owns it); any other error → fail with backoff or for good.
 */
export async function runOp(r: RunningOp, kind: KindDefinition, poolDeps: RunDeps): Promise<void> {
  const { op, epoch } = r;
  const deps = { ...poolDeps, log: poolDeps.log.child({ op_id: op.op_id, kind: op.kind }) };
  const timeoutS = kind.timeoutS ?? deps.defaultTimeoutS ?? DEFAULTS.handlerTimeoutS;
  const timer = setTimeout(() => r.abort('timeout', `attempt ran longer than ${timeoutS} s`), timeoutS * 1000);
  timer.unref();
  try {
    const input = kind.input.safeParse(op.input);
    if (!input.success) throw new PermanentError(`stored input no longer matches kind ${op.kind}`, 'invalid_input');
    const value = await kind.run({
      op,
      input: input.data,
      signal: r.signal,
      epoch,
      attempt: op.attempt,
      progress: (event) => {
        // Bad events throw here, in the handler, with a clear message; the stream never sees them.
        const body = validateEvent({ type: 'progress', ...event });
        const wasStalled = r.progress.stalled;
        const { speed, eta_s } = r.progress.record(event);
        r.publisher?.push({ ...body, ...(speed === undefined ? {} : { speed }), ...(eta_s === undefined ? {} : { eta_s }) });
        if (wasStalled) void deps.events?.summaries([r.live()], { stalled: false });
      },
      log: (message, level = 'info') => deps.log[level](message),
      host: deps.host ?? null,
    });
    const result = kind.result.safeParse(value);
    if (!result.success) throw new PermanentError(`handler returned a result its kind does not allow`, 'invalid_result');
    if (r.abortCode === 'lease_lost') return deps.log.warn('result dropped: lease lost');
    await r.publisher?.drain(); // the terminal summary comes after every progress event
    r.progress.end();
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
  await r.publisher?.drain();
  r.progress.end(); // the summary written with the outcome has no ETA
  const row = await settle(r, ref, err, kind, deps);
  if (row) await deps.events?.transitions(Array.isArray(row) ? row : [row]);
}

async function settle(r: RunningOp, ref: { op_id: string; epoch: number }, err: unknown, kind: KindDefinition, deps: RunDeps) {
  const { op } = r;
  switch (r.abortCode) {
    case 'lease_lost':
      deps.log.warn('handler stopped: lease lost');
      return null;
    case 'shutdown':
      return writeOutcome(() => deps.ops.release({ leases: [ref], now: sqlNow(deps) }), deps.log);
    case 'canceled': {
      const done = await writeOutcome(
        () => deps.ops.finishCanceled({ ...ref, error: { code: 'canceled', message: 'canceled by request' }, now: sqlNow(deps) }),
        deps.log,
      );
      if (done) return done;
      break; // not a real cancel request (lost race): fall through to an ordinary failure
    }
  }
  const error = toOpError(err, r, deps.clock ?? systemClock);
  const retryable = !(err instanceof PermanentError);
  const backoff = backoffMs(op.attempt, kind.backoff ?? DEFAULT_BACKOFF);
  // The progress it reached goes on the row with the failure (not only on the next heartbeat).
  const summary = r.progress.take();
  return writeOutcome(() => deps.ops.fail({ ...ref, error, retryable, backoff_ms: backoff, summary, now: sqlNow(deps) }), deps.log);
}

/** When a statement runs: the clock's, or undefined (the database's). */
const sqlNow = (deps: RunDeps) => (deps.clock ?? systemClock).sqlNow();

function toOpError(err: unknown, r: RunningOp, clock: Clock): OpError {
  const reason = r.signal.aborted ? (r.signal.reason as Error) : null;
  const source = reason instanceof AbortReason && reason.code === 'timeout' ? reason : (err as Error);
  const code = (source as { code?: unknown })?.code;
  return {
    code: typeof code === 'string' ? code : 'handler_error',
    message: bounded(String(source?.message ?? source)), // the record keeps a capped message, saying how much was cut
    attempt: r.op.attempt,
    at: new Date(clock.now()).toISOString(),
  };
}

/** Tries a write gets before the worker gives up on an outcome (about 10 s of `RETRY.connection` backoff). */
const WRITE_TRIES = 13;

/**
 * Writes an op's outcome (fail, cancel, release), retrying through connection loss: the worker must
 * not forget an outcome it holds. A refused write (an `LroError`: the lease was lost) is not retried.
 */
async function writeOutcome<T>(write: () => Promise<T>, log: Logger): Promise<T | null> {
  try {
    return await retry(write, { backoff: RETRY.connection, tries: WRITE_TRIES, fatal: (err) => err instanceof LroError });
  } catch (err) {
    if (err instanceof LroError) log.warn({ err }, err.message);
    else log.error({ err }, `giving up on writing the outcome: ${(err as Error).message}`);
    return null;
  }
}
