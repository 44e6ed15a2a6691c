/**
 * A background loop of lro (worker pool, heartbeater, rescuer, expirer, stream retention, host
 * liveness): nothing starts in its constructor; `start()` and `stop()` are idempotent; `runOnce()` is
 * one pass, public so tests drive it instead of waiting for a timer.
 */
export interface Service {
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

export interface TickerOptions {
  /** ms between passes. */
  intervalMs: number;
  /** Where a failed pass is reported; the next tick tries again. */
  onError: (err: unknown) => void;
  /** Run a pass at start, not only after the first interval. @default false */
  immediate?: boolean;
}

/**
 * Runs `pass` every `intervalMs`, never two at once (a tick while one runs is skipped), reporting
 * failures instead of swallowing them. The timer never keeps the process alive.
 */
export class Ticker implements Service {
  readonly #pass: () => Promise<unknown>;
  readonly #o: TickerOptions;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<void> | null = null;

  constructor(pass: () => Promise<unknown>, opts: TickerOptions) {
    this.#pass = pass;
    this.#o = opts;
  }

  get running(): boolean {
    return this.#timer !== null;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.tick(), this.#o.intervalMs);
    this.#timer.unref();
    if (this.#o.immediate) void this.tick();
  }

  /** One pass now, unless one is in flight (then that one); errors go to `onError`. */
  tick(): Promise<void> {
    this.#inFlight ??= this.#pass()
      .then(() => undefined, this.#o.onError)
      .finally(() => {
        this.#inFlight = null;
      });
    return this.#inFlight;
  }

  /** Stops the timer and waits for a pass in flight. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#inFlight;
  }
}
