/**
 * Every default lro has, named once. `config.ts` reads its environment defaults from here and the
 * code falls back to the same values, so a default is never written in two places. Pure values: any
 * layer (the browser bundle too) may import this module.
 */
export const DEFAULTS = {
  /** Seconds without a heartbeat before another worker may take an op. */
  leaseS: 30,
  /** Seconds between a host's scans of its running projects for changed files. */
  freshnessS: 60,
  /** Seconds between lease renewals; also the longest a cancel takes to reach a handler without NOTIFY. */
  heartbeatS: 10,
  /** Seconds without progress before a running op is marked stalled. */
  stallS: 60,
  /** The progress summary rides on a heartbeat at most this often (seconds). */
  summaryIntervalS: 2,
  /** Seconds a finished op's progress stream is kept. */
  retentionS: 7 * 86_400,
  /** Events kept per progress stream (a ring). */
  streamMaxMsgs: 2000,
  /** Handlers one worker pool runs at once. */
  concurrency: 10,
  /** Connections in the library's pool. */
  poolSize: 10,
  /** Fallback claim poll when no notification comes (ms). */
  pollMs: 1000,
  /** How long a pool's stop lets running handlers finish before aborting them (ms). */
  gracefulMs: 30_000,
  /** How often the rescuer, expirer and stream retention run (ms). */
  maintenanceIntervalMs: 5000,
  /** Seconds an attempt may run before it is aborted and counted as failed. */
  handlerTimeoutS: 3600,
  /** Attempts an op gets. */
  maxAttempts: 3,
  /** Rows a maintenance pass changes at most. */
  maintenanceBatch: 1000,
  /** Seconds a stop may take after the first signal; past it the process exits anyway. */
  stopTimeoutS: 60,
  /** Active (queued + running) ops an account may have at once through the hub. */
  maxActivePerAccount: 1000,
  /** How long an append keeps retrying while its stream's server is away (a NATS restart) before it fails (ms). */
  appendGiveUpMs: 60_000,
  /** The hub's port. */
  port: 8080,
  /** Where the CLI keeps the embedded Postgres (`<dataDir>/pg`) and hosts keep projects. */
  dataDir: '.data',
  /** Seconds `GET /v1/ops/:id/wait` (the client's and the CLI's wait) holds before answering a still-active op. */
  waitS: 30,
  /** The longest wait a caller may ask for (seconds). */
  waitMaxS: 300,
} as const;

/** Backoff policies (see `backoff.ts`): the base and cap of each kind of retry. */
export const RETRY = {
  /** A failed handler attempt: the op is retried after this backoff. */
  handler: { baseMs: 1000, maxMs: 300_000 },
  /** A write or read that lost its database or NATS connection. */
  connection: { baseMs: 50, maxMs: 2000 },
  /**
   * A statement that lost a race with another writer (a unique violation on a stream's seq, a
   * deadlock): run again soon, jittered so the two writers do not collide again.
   */
  conflict: { baseMs: 1, maxMs: 50 },
  /** A browser or CLI reconnecting to the hub. */
  client: { baseMs: 250, maxMs: 5000 },
} as const;
