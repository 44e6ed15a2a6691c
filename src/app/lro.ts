import pg from 'pg';
import { KindRegistry } from '../lro/kinds.js';
import { PgListener } from '../lro/listener.js';
import { guardPool } from '../lro/pg-pool.js';
import { OperationStore } from '../lro/store.js';
import { OperationWaiter } from '../lro/wait.js';
import { workerOps } from '../workers/ops.js';
import { WorkerPool, type WorkerPoolOptions } from '../workers/pool.js';
import { Maintainer, type MaintainerOptions } from '../workers/maintenance.js';
import { demoKind } from '../workers/kinds/demo.js';
import { Buckets, type BucketOptions } from '../backup/buckets.js';
import { Restic } from '../backup/restic.js';
import { SnapshotBrowser } from '../backup/browse.js';
import { registerProjectKinds } from '../backup/kinds.js';
import { registerHubKinds } from '../backup/kinds.js';
import type { ChildOps } from '../workers/children.js';
import { Scheduler, type SchedulerOptions } from '../schedules/scheduler.js';
import { defined } from '../lro/defined.js';
import { OpEvents } from '../lro/op-events.js';
import { appendSummariesThrough } from '../lro/sql/operations-summaries.js';
import { PgStreamBackend } from '../lro/streams/pg.js';
import { ProgressStreams, openNatsStreams } from '../lro/streams/index.js';
import { systemClock, type Clock } from '../lro/clock.js';
import { defaultLogger, type Logger } from '../lro/log.js';
import { DEFAULTS } from '../shared/defaults.js';

export interface LroOptions {
  connectionString: string;
  /** @default a registry with the built-in `demo` kind */
  kinds?: KindRegistry;
  /** Seconds without a heartbeat before another worker may take an op. @default DEFAULTS.leaseS (30) */
  leaseS?: number;
  /** Connections in the pool. @default DEFAULTS.poolSize (10) */
  poolSize?: number;
  applicationName?: string;
  /** Where progress streams live. @default streams in this Postgres (`pg`) */
  streams?: ProgressStreams;
  /**
   * Publish progress events and state-change summaries to the ops' streams. Off, lro is a plain
   * durable job queue (records, leases, cancel, wait, the row's progress summary) with no streams.
   * @default true
   */
  events?: boolean;
  /** Seconds without progress before a running op is marked stalled. @default DEFAULTS.stallS (60) */
  stallS?: number;
  /** How long a finished op's stream is kept (s). @default DEFAULTS.retentionS (7 days) */
  retentionS?: number;
  /** Active (queued + running) ops each account (`createdBy`) may have; 0: no cap. @default 0 */
  maxActivePerAccount?: number;
  /**
   * Backups: the password file of every region's bucket (and what `file:` repositories are relative
   * to). Given, the project kinds (`project-backup`, …) are registered. @default none
   */
  backup?: BucketOptions;
  /**
   * Eager start: a single create, made where a started pool of this Lro would run the op and has a
   * free slot, inserts the op already claimed by that pool when its routing has nothing queued; the
   * handler starts as the create returns (no notification, no claim). @default true
   */
  eagerStart?: boolean;
  /**
   * The one clock of this Lro and every service it builds (tests pass a `ManualClock`).
   * @default systemClock (statements use the database's `now()`)
   */
  clock?: Clock;
  /**
   * The one logger (pino) of this Lro: pools log through `child({ worker_id })`, running ops through
   * `child({ op_id, kind })` (a handler's `ctx.log` writes there). @default defaultLogger() (warn and up, stderr)
   */
  log?: Logger;
}

/** A registry holding the built-in kinds. */
export function defaultKinds(): KindRegistry {
  return new KindRegistry().register(demoKind);
}

/**
 * The library entry point: one connection pool, one LISTEN connection, the store, `wait`, and
 * factories for worker pools and the maintainer that share them.
 */
export class Lro {
  readonly db: pg.Pool;
  readonly kinds: KindRegistry;
  readonly listener: PgListener;
  readonly store: OperationStore;
  readonly streams: ProgressStreams;
  readonly events: OpEvents | undefined;
  /** The clock every service of this Lro decides time by; maintenance and streams take it from here. */
  readonly clock: Clock;
  /** The logger every service of this Lro writes through. */
  readonly log: Logger;
  /** With `backup` options: restic, the regions' buckets and the snapshot browser the hub serves. */
  readonly backups: { restic: Restic; buckets: Buckets; browser: SnapshotBrowser } | null = null;
  readonly #opts: LroOptions;
  readonly #waiter: OperationWaiter;
  readonly #pools = new Set<WorkerPool>();
  readonly #maintainers = new Set<Maintainer>();
  #scheduler: Scheduler | null = null;

  constructor(opts: LroOptions) {
    const applicationName = opts.applicationName ?? 'lro';
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? defaultLogger();
    // Streams in this database: the statements that change ops append their summaries (sql/010).
    const transitionsInSql = opts.events !== false && (opts.streams?.backend.name ?? 'pg') === 'pg';
    const pool = new pg.Pool({
      connectionString: opts.connectionString,
      max: opts.poolSize ?? DEFAULTS.poolSize,
      application_name: applicationName,
    });
    // An idle client whose server connection died: the pool drops it; nothing to crash over.
    this.db = guardPool(pool, (err) => this.log.debug({ err }, 'an idle database connection was lost'));
    if (transitionsInSql) appendSummariesThrough(this.db);
    this.kinds = opts.kinds ?? defaultKinds();
    if (opts.backup) {
      const restic = new Restic();
      const buckets = new Buckets({ db: this.db, restic, ...opts.backup });
      registerProjectKinds(this.kinds, { db: this.db, restic, buckets });
      registerHubKinds(this.kinds, { db: this.db, restic, buckets, children: this.childOps });
      this.backups = { restic, buckets, browser: new SnapshotBrowser({ restic, buckets }) };
    }
    this.listener = new PgListener({
      connectionString: opts.connectionString,
      applicationName: `${applicationName}-listen`,
      log: this.log,
    });
    const pgStreams = () =>
      new PgStreamBackend({
        db: this.db,
        listener: this.listener,
        connectionString: opts.connectionString,
        clock: this.clock,
        log: this.log,
      });
    this.streams = opts.streams ?? new ProgressStreams(pgStreams(), { log: this.log });
    this.events = opts.events === false ? undefined : new OpEvents(this.streams, { log: this.log, transitionsInSql });
    this.#opts = opts;
    this.store = new OperationStore({
      db: this.db,
      kinds: this.kinds,
      defaultLeaseS: opts.leaseS,
      events: this.events,
      maxActivePerAccount: opts.maxActivePerAccount,
      clock: this.clock,
      reserve: opts.eagerStart === false ? undefined : (routing, kind) => this.#reserve(routing, kind),
    });
    this.#waiter = new OperationWaiter({ store: this.store, listener: this.listener, clock: this.clock });
  }

  /**
   * Like the constructor, with the progress streams named by a spec: `pg` (default) or a `nats://`
   * URL (LRO_STREAMS).
   */
  static async open(opts: LroOptions & { streamsSpec?: string }): Promise<Lro> {
    if (!opts.streamsSpec || opts.streamsSpec === 'pg') return new Lro(opts);
    const streams = await openNatsStreams(opts.streamsSpec, defined({ maxAgeS: opts.retentionS, clock: opts.clock, log: opts.log }));
    return new Lro({ ...opts, streams });
  }

  #reserve(routing: string, kind: string) {
    for (const pool of this.#pools) {
      const slot = pool.reserve(routing, kind);
      if (slot) return slot;
    }
    return null;
  }

  /** What a parent op's handler needs to make child ops and follow them (src/workers/children.ts). */
  readonly childOps: ChildOps = {
    createMany: (requests, o) => this.store.createMany(requests, o),
    children: async (parentId) => {
      const all = [];
      for (let cursor: string | undefined; ;) {
        const page = await this.store.list({ parent_id: parentId, include_dismissed: true, limit: 500, ...(cursor ? { cursor } : {}) });
        all.push(...page.ops);
        if (!page.next_cursor) return all;
        cursor = page.next_cursor;
      }
    },
    cancel: (opId) => this.store.cancel(opId),
  };

  /** Every worker pool this Lro built (running or not). */
  get pools(): ReadonlySet<WorkerPool> {
    return this.#pools;
  }

  /** The op once it is terminal, or as it stands after `timeoutMs`. */
  async wait(opId: string, timeoutMs: number, signal?: AbortSignal) {
    await this.listener.start();
    return this.#waiter.wait(opId, timeoutMs, signal);
  }

  workerPool(opts: Omit<WorkerPoolOptions, 'ops' | 'listener' | 'kinds' | 'events' | 'clock'> = {}): WorkerPool {
    const pool = new WorkerPool({
      ...defined({ stallS: this.#opts.stallS }),
      ...opts,
      ops: workerOps(this.db),
      listener: this.listener,
      kinds: this.kinds,
      events: this.events,
      clock: this.clock,
      log: opts.log ?? this.log,
    });
    this.#pools.add(pool);
    return pool;
  }

  /** The rescuer, expirer and stream retention on this Lro's pool, streams, clock and logger. */
  maintainer(opts: Omit<MaintainerOptions, 'db' | 'events'> = {}): Maintainer {
    const m = new Maintainer({
      db: this.db,
      events: this.events,
      clock: this.clock,
      log: this.log,
      ...defined({ retentionS: this.#opts.retentionS }),
      ...opts,
    });
    this.#maintainers.add(m);
    return m;
  }

  /**
   * This Lro's schedules (pg-boss in the same database): manage them anywhere; `start()` it on a hub
   * to run their ticks. One per Lro: the options of the first call hold.
   */
  scheduler(opts: Pick<SchedulerOptions, 'cronCheckS' | 'pollS'> = {}): Scheduler {
    this.#scheduler ??= new Scheduler({
      db: this.db,
      kinds: this.kinds,
      createOp: (request) => this.store.create(request),
      log: this.log,
      ...opts,
    });
    return this.#scheduler;
  }

  /** Stops every pool (gracefully within `gracefulMs`), the scheduler, the maintainers, the listener and the pool. */
  async close(opts: { gracefulMs?: number } = {}): Promise<void> {
    await this.#scheduler?.stop();
    await Promise.all([...this.#pools].map((p) => p.stop(opts)));
    await Promise.all([...this.#maintainers].map((m) => m.stop()));
    await this.streams.close();
    await this.listener.stop();
    await this.db.end();
  }
}
