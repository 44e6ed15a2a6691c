export interface BackoffOptions {
  /** @default 1000 */
  baseMs: number;
  /** @default 300000 */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 300_000 };

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed: exponential
 * (base · 2^(attempt-1), capped) with "equal jitter", so retries of many ops spread out but never
 * come back sooner than half the exponential step.
 */
export function backoffMs(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
