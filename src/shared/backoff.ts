import { RETRY } from './defaults.js';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** A failed handler attempt's backoff: `RETRY.handler`. */
export const DEFAULT_BACKOFF: BackoffOptions = RETRY.handler;

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed: exponential
 * (base · 2^(attempt-1), capped) with "equal jitter", so retries of many ops spread out but never
 * come back sooner than half the exponential step.
 */
export function backoffMs(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export interface RetryOptions {
  /** Base and cap of the delays. @default RETRY.connection */
  backoff?: BackoffOptions;
  /** Gives up after this many failed tries, throwing the last error. @default Infinity */
  tries?: number;
  /** Gives up once the next delay would end past this time (ms since the epoch), throwing the last error. */
  deadline?: number;
  /** Ends the waiting: the signal's reason is thrown. */
  signal?: AbortSignal;
  /** An error retrying cannot help: thrown at once. @default none */
  fatal?: (err: unknown) => boolean;
  /** Each error that will be retried, with the delay before the next try. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
}

/**
 * Calls `fn` until it resolves, waiting `backoffMs` between tries: the one retry loop of lro (writes
 * through a lost connection, stream appends while NATS restarts, readers and the browser
 * reconnecting). `fn` gets the try's number, from 1.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const backoff = opts.backoff ?? RETRY.connection;
  const now = opts.now ?? Date.now;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.fatal?.(err) || attempt >= (opts.tries ?? Infinity) || opts.signal?.aborted) throw err;
      const wait = backoffMs(attempt, backoff, opts.random);
      if (opts.deadline !== undefined && now() + wait > opts.deadline) throw err;
      opts.onRetry?.(err, attempt, wait);
      await sleep(wait, opts.signal);
    }
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}
