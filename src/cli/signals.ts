/**
 * One Ctrl-C under `npm start` can reach the lro process twice: from the terminal, and relayed by
 * tsx, which passes a signal on unless its child reports it within 30 ms (a busy machine misses
 * that). Repeats inside this window are the same Ctrl-C, not the "stop at once" one.
 */
const SAME_SIGNAL_MS = 1000;

export interface Shutdown {
  /** Aborted at the first signal (or `now()`): loops that are not ops, such as a display, stop on it. */
  readonly signal: AbortSignal;
  /** Resolves once `stop` has finished and the last line is printed. */
  readonly done: Promise<void>;
  /** Stops without waiting for a signal (e.g. `--exit-when-done`). */
  now(): Promise<void>;
}

export interface ShutdownOptions {
  log?: (m: string) => void;
  /** How many ops this process is running, for the messages. */
  running?: () => number;
}

/**
 * Listens for SIGTERM and SIGINT from now on: the first signal stops gracefully (running ops may
 * finish), a second one stops at once (handlers are aborted and their leases given back). `stop`
 * must stop the database last; the final line says what became of the running ops.
 */
export function onShutdown(stop: (opts: { gracefulMs?: number }) => Promise<void>, opts: ShutdownOptions = {}): Shutdown {
  const log = opts.log ?? ((m: string) => console.error(m));
  const controller = new AbortController();
  let firstAt = 0;
  let forced = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => { resolveDone = resolve; });
  const ops = (n: number) => `${n} running op${n === 1 ? '' : 's'}`;

  const begin = (why: NodeJS.Signals | null) => {
    firstAt = Date.now();
    controller.abort();
    const running = opts.running?.() ?? 0;
    if (why) log(`${why}: finishing ${ops(running)} before stopping (send it again to stop at once)`);
    stop({}).then(() => {
      log(forced
        ? `stopped: ${ops(running)} aborted, their leases given back (they run again, the attempt not counted)`
        : `stopped: ${ops(running)} finished or gave their leases back; nothing was left running`);
    }, (err: unknown) => {
      log(`shutdown failed: ${(err as Error).message}`);
      process.exitCode ||= 1;
    }).finally(() => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
      resolveDone();
    });
  };
  const handler = (signal: NodeJS.Signals) => {
    if (!firstAt) return begin(signal);
    if (forced || Date.now() - firstAt < SAME_SIGNAL_MS) return;
    forced = true;
    log(`${signal} again: aborting running ops and giving their leases back`);
    void stop({ gracefulMs: 0 });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    signal: controller.signal,
    done,
    now: () => {
      if (!firstAt) begin(null);
      return done;
    },
  };
}
