import { DEFAULTS } from '../shared/defaults.js';
import { defaultLogger, type Logger } from '../lro/log.js';
import type { WorkerPool } from '../workers/pool.js';

/**
 * One Ctrl-C can reach lro twice under a wrapper that relays signals: from the terminal, and from
 * the wrapper (npm relays the terminal's signal to its child; the tsx CLI relays one its child has not
 * acknowledged within 30 ms, and SIGKILLs the child if the second is not acknowledged either: hence
 * `npm start` runs `node bin/lro.js`, compiled JS, never through `tsx`). The same signal again inside
 * this window is the same Ctrl-C.
 */
const SAME_SIGNAL_MS = 1000;
/** The signals that stop lro: Ctrl-C, a service manager, and a closed terminal or dropped ssh session. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** After a second signal, the longest the aborts and lease returns may take before the process exits anyway. */
const FORCED_STOP_MS = 10_000;

export interface Shutdown {
  /** Aborted at the first signal (or `now()`): loops that are not ops, such as a display, stop on it. */
  readonly signal: AbortSignal;
  /** Resolves once `stop` has finished and the last line is printed. */
  readonly done: Promise<void>;
  /** Stops without waiting for a signal (e.g. `--exit-when-done`). */
  now(): Promise<void>;
}

export interface ShutdownOptions {
  /** Where the stop is told (the CLI's logger). @default defaultLogger() (warnings and errors) */
  log?: Logger;
  /** This process's worker pools: what they run is counted, and a second signal hurries them. */
  pools?: readonly WorkerPool[];
  /**
   * The longest a stop may take after the first signal: past it the process exits (1) anyway. A
   * database that went away first leaves writes that can never finish; the ops' leases then run out
   * and the maintainer requeues them. LRO_STOP_TIMEOUT_S; above the pools' 30 s graceful deadline.
   * @default DEFAULTS.stopTimeoutS * 1000
   */
  stopTimeoutMs?: number;
}

/**
 * Listens for SIGINT, SIGTERM and SIGHUP from now on: the first signal runs `stop`, which lets running ops
 * finish (and must stop the database last); a second one makes the pools abort their handlers at
 * once, giving their leases back. The final line says what became of the running ops.
 */
export function onShutdown(stop: (opts: { gracefulMs?: number }) => Promise<void>, opts: ShutdownOptions = {}): Shutdown {
  const log = opts.log ?? defaultLogger();
  const stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULTS.stopTimeoutS * 1000;
  const controller = new AbortController();
  let firstAt = 0;
  let first: NodeJS.Signals | null = null;
  let forced = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const ops = (n: number) => `${n} running op${n === 1 ? '' : 's'}`;

  const begin = (why: NodeJS.Signals | null) => {
    firstAt = Date.now();
    first = why;
    controller.abort();
    const running = (opts.pools ?? []).reduce((n, p) => n + p.running, 0);
    if (why) log.info(`${why}: finishing ${ops(running)} before stopping (send it again to stop at once)`);
    stop({})
      .then(
        () => {
          log.info(
            forced
              ? `stopped: of ${ops(running)}, those still running were aborted and gave their leases back ` +
                  '(they run again; the attempt is not counted)'
              : `stopped: ${ops(running)} finished or gave their leases back; nothing was left running`,
          );
        },
        (err: unknown) => {
          log.error(`shutdown failed: ${(err as Error).message}`);
          process.exitCode ||= 1;
        },
      )
      .finally(() => {
        for (const sig of STOP_SIGNALS) process.off(sig, handler);
        resolveDone();
      });
  };
  /** Ends the process if stopping takes longer than `ms` (unref'd: a clean stop exits first). */
  const deadline = (ms: number) =>
    setTimeout(() => {
      log.error(
        `stopping took over ${ms / 1000} s (is the database gone?): exiting now; ops still running come back when their leases run out`,
      );
      process.exit(1);
    }, ms).unref();
  const handler = (signal: NodeJS.Signals) => {
    if (!firstAt) {
      deadline(stopTimeoutMs);
      return begin(signal);
    }
    if (forced || (signal === first && Date.now() - firstAt < SAME_SIGNAL_MS)) return;
    forced = true;
    deadline(Math.min(FORCED_STOP_MS, stopTimeoutMs));
    log.warn(`${signal} again: aborting running ops and giving their leases back`);
    for (const pool of opts.pools ?? []) void pool.stop({ gracefulMs: 0 });
  };
  for (const sig of STOP_SIGNALS) process.on(sig, handler);
  return {
    signal: controller.signal,
    done,
    now: () => {
      if (!firstAt) begin(null);
      return done;
    },
  };
}

/**
 * Starts a long-running command with signals handled from the first moment, so that a Ctrl-C at any
 * point (while the database starts, say) still stops everything in order. `teardown` runs once, after
 * `setup` has settled: on the first signal, on `now()`, or when `setup` fails (which then throws).
 * `teardown` must cope with what a failed setup left undefined, and stop the database last.
 */
export async function serve<T>(
  setup: () => Promise<T>,
  teardown: (opts: { gracefulMs?: number }) => Promise<void>,
  opts: ShutdownOptions = {},
): Promise<{ value: T; shutdown: Shutdown }> {
  let ready: Promise<T> | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (o: { gracefulMs?: number }) =>
    (stopping ??= (async () => {
      await ready?.catch(() => {});
      await teardown(o);
    })());
  const shutdown = onShutdown(stop, opts);
  ready = setup();
  try {
    return { value: await ready, shutdown };
  } catch (err) {
    await stop({ gracefulMs: 0 }).catch(() => {});
    throw err;
  }
}
