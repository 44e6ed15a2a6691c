/**
 * Operation statuses, mirrored by the CHECK constraint in sql/001_long_running_operations.sql.
 *
 * ```
 * (create) --eager start--> running   (a pool of the creating process has a slot; nothing queued)
 * queued --claim--> running --complete--> succeeded
 *    |                 |----fail (attempts left)--> queued (run_at = backoff)
 *    |                 |----fail (no attempts left)--> failed
 *    |                 |----lease lost (heartbeat stale)--> queued | failed (max attempts)
 *    |                 '----cancel requested -> handler aborts -> canceled
 *    |--cancel--> canceled
 *    '--expires_at passed--> expired        terminal rows never change again
 * ```
 */
export const STATUS = {
  /** Waiting for a worker. Left by a worker's claim, a cancel, or the maintainer's expiry. */
  queued: 'queued',
  /**
   * Held by one worker under a lease (from a claim, or from the create itself: eager start). Left by
   * that worker (complete, fail, canceled) or by rescue.
   */
  running: 'running',
  /** Terminal: the handler returned a result. */
  succeeded: 'succeeded',
  /** Terminal: the last attempt failed; `error` holds its error. */
  failed: 'failed',
  /**
   * Terminal: canceled while queued; or, once a cancel was accepted while running, whatever the
   * attempt did next — the handler stopped, failed (never requeued), returned after the cancel
   * reached the row first, gave its lease back at shutdown, or its lease was rescued.
   */
  canceled: 'canceled',
  /** Terminal: still queued when `expires_at` passed. */
  expired: 'expired',
} as const;

export type Status = (typeof STATUS)[keyof typeof STATUS];

export const STATUSES = Object.values(STATUS) as [Status, ...Status[]];
export const TERMINAL: readonly Status[] = ['succeeded', 'failed', 'canceled', 'expired'];

/** Pure (no imports): the browser bundle and the client use it too. */
export const isTerminal = (s: string): boolean => (TERMINAL as readonly string[]).includes(s);
/** Ended without success: what a retry may start again. */
export const UNSUCCESSFUL: readonly Status[] = ['failed', 'canceled', 'expired'];
export const isUnsuccessful = (s: string): boolean => (UNSUCCESSFUL as readonly string[]).includes(s);

export const SCOPE_TYPES = ['project', 'account', 'host', 'hub'] as const;
export type ScopeType = (typeof SCOPE_TYPES)[number];
