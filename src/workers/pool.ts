import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { HostEnv, KindRegistry } from '../lro/kinds.js';
import { defined } from '../lro/defined.js';
import type { PgListener } from '../lro/listener.js';
import type { EagerSlot } from '../lro/create-options.js';
import type { OpEvents } from '../lro/op-events.js';
import { streamOf } from '../lro/streams/types.js';
import { OpPublisher } from './publisher.js';
import { Completer } from './completer.js';
import { Heartbeater } from './heartbeat.js';
import type { WorkerOps } from './ops.js';
import { accountKey } from '../lro/sql/operations-claim.js';
import type { Operation } from '../shared/operation.js';
import { RunningOp, runOp } from './runner.js';
import { defaultLogger, type Logger } from '../lro/log.js';
import { DEFAULTS } from '../shared/defaults.js';
import { systemClock, type Clock } from '../lro/clock.js';
import { Ticker, type Service } from '../lro/service.js';

export interface WorkerPoolOptions {
  ops: WorkerOps;
  listener: PgListener;
  kinds: KindRegistry;
  /** Routings served: `hub` and/or `host:<id>`. @default ['hub'] */
  routing?: string[];
  /** Kind names served. @default every kind in the registry */
  serves?: string[];
  /** At most this many handlers at once. @default DEFAULTS.concurrency (10) */
  concurrency?: number;
  /** Fallback poll when no notification comes (backoff retries, missed notifications). @default DEFAULTS.pollMs (1000) */
  pollMs?: number;
  /** Lease renewal period; also the longest a cancel takes to reach a handler without NOTIFY. @default DEFAULTS.heartbeatS (10) */
  heartbeatS?: number;
  /** The progress summary rides on a beat at most this often. @default DEFAULTS.summaryIntervalS (2) */
  summaryIntervalS?: number;
  /** A running op with no progress for this long is marked stalled. @default DEFAULTS.stallS (60) */
  stallS?: number;
  /** Progress events and state-change summaries go to the ops' streams. @default none */
  events?: OpEvents;
  /** How long stop() lets running handlers finish before aborting them. @default DEFAULTS.gracefulMs (30000) */
  gracefulMs?: number;
  ownerType?: 'hub' | 'host';
  /** A host's pool: the host and its data folder, given to handlers as `ctx.host`. @default none */
  host?: HostEnv;
  workerId?: string;
  /**
   * pino; the pool logs through a child bound to its `worker_id`, each op through one bound to
   * `op_id` and `kind`. @default defaultLogger()
   */
  log?: Logger;
  /** Decides which leases are due, stalls and ETAs, and the `now` of the statements. @default systemClock */
  clock?: Clock;
}

/**
 * A pool of handler slots: claims due ops in batches (one claim in flight at a time, sized to the free
 * slots), runs them, heartbeats them, and writes outcomes. Woken by LISTEN/NOTIFY, polls as a
 * fallback. Emits `idle` whenever no handler runs.
 */
export class WorkerPool extends EventEmitter<{ idle: []; error: [unknown] }> implements Service {
  readonly workerId: string;
  readonly #o: Required<Omit<WorkerPoolOptions, 'serves' | 'log' | 'events' | 'clock' | 'host'>> & {
    host: HostEnv | null;
    serves: string[];
    log: Logger;
    events: OpEvents | null;
    clock: Clock;
  };
  readonly #active = new Map<string, RunningOp>();
  readonly #heartbeater: Heartbeater;
  readonly #completer: Completer;
  readonly #tasks = new Set<Promise<void>>();
  /** Summary publishes in flight (NATS: after the commit), awaited by stop(). */
  readonly #published = new Set<Promise<void>>();
  #started = false;
  #stopping: Promise<void> | null = null;
  #hurry: (() => void) | null = null;
  /** Per routing, the account this pool claimed last: the next claim's turn among accounts starts after it. */
  readonly #after: Record<string, string> = {};
  /** Per routing, whether the last claim found several accounts queued (kept by operationClaim): which statement goes first. */
  readonly #several: Record<string, boolean> = {};
  #claiming = false;
  #again = false;
  /** Slots held for ops being created in this process, which may start them without a claim (reserve()). */
  #reserved = 0;
  /** The fallback claim poll (backoff retries come due, notifications missed). */
  readonly #poll: Ticker;
  #onNotify = (channel: string, payload: string) => {
    if (channel === 'lro_queued' && this.#o.routing.includes(payload)) this.#wake();
    if (channel === 'lro_cancel') {
      for (const id of payload.split(',')) this.#active.get(id)?.abort('canceled', 'cancel requested');
    }
  };
  #onConnected = () => this.#wake();

  constructor(opts: WorkerPoolOptions) {
    super();
    this.workerId = opts.workerId ?? `worker-${randomUUID().slice(0, 8)}`;
    const log = (opts.log ?? defaultLogger()).child({ worker_id: this.workerId });
    this.#o = {
      routing: ['hub'],
      concurrency: DEFAULTS.concurrency,
      pollMs: DEFAULTS.pollMs,
      heartbeatS: DEFAULTS.heartbeatS,
      summaryIntervalS: DEFAULTS.summaryIntervalS,
      stallS: DEFAULTS.stallS,
      gracefulMs: DEFAULTS.gracefulMs,
      ownerType: 'hub',
      workerId: this.workerId,
      ...(defined(opts) as WorkerPoolOptions),
      serves: opts.serves ?? opts.kinds.names(),
      log,
      events: opts.events ?? null,
      clock: opts.clock ?? systemClock,
      host: opts.host ?? null,
    };
    const events = this.#o.events;
    const onError = (err: unknown) => this.#error(err);
    this.#heartbeater = new Heartbeater({
      intervalMs: 1000 * Math.min(this.#o.heartbeatS, this.#o.summaryIntervalS),
      heartbeatMs: 1000 * this.#o.heartbeatS,
      stallMs: 1000 * this.#o.stallS,
      active: () => this.#active.values(),
      beat: this.#o.ops.heartbeat,
      onError,
      onStall: (r) => this.#publishing(events?.summaries([r.live()], { stalled: true })),
      clock: this.#o.clock,
    });
    this.#completer = new Completer({
      complete: (p) => this.#o.ops.completeMany({ ...p, now: this.#o.clock.sqlNow() }),
      onError,
      onLost: (ids) => log.warn({ op_ids: ids }, `${ids.length} completions refused: leases lost`),
      onDone: (ops) => this.#publishing(events?.transitions(ops)),
    });
    this.#poll = new Ticker(async () => this.#wake(), { intervalMs: this.#o.pollMs, onError });
  }

  /** True between start() and stop(). */
  get started(): boolean {
    return this.#started;
  }

  get running(): number {
    return this.#active.size;
  }

  /** Starts claiming. Idempotent. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#o.listener.on('notification', this.#onNotify);
    this.#o.listener.on('connected', this.#onConnected);
    await this.#o.listener.start();
    this.#heartbeater.start();
    this.#poll.start();
    this.#wake();
  }

  /**
   * Two-phase shutdown: stop claiming and let running handlers finish for `gracefulMs`; then abort the
   * rest (their leases are given back, the attempt not counted). Idempotent.
   */
  async stop(opts: { gracefulMs?: number } = {}): Promise<void> {
    if (this.#stopping) {
      // Stop again while the first stop waits (a second Ctrl-C): `gracefulMs: 0` ends the wait now.
      if (opts.gracefulMs === 0) this.#hurry?.();
      return this.#stopping;
    }
    if (!this.#started) return;
    this.#stopping = this.#stop(opts).finally(() => {
      this.#stopping = null;
    });
    return this.#stopping;
  }

  async #stop(opts: { gracefulMs?: number }): Promise<void> {
    this.#started = false;
    await this.#poll.stop();
    this.#o.listener.off('notification', this.#onNotify);
    this.#o.listener.off('connected', this.#onConnected);
    const graceful = opts.gracefulMs ?? this.#o.gracefulMs;
    const drained = Promise.all(this.#tasks);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceful);
      this.#hurry = () => resolve('late');
    });
    if ((await Promise.race([drained, deadline])) === 'late') {
      for (const r of this.#active.values()) r.abort('shutdown', 'worker shutting down');
      await drained;
    }
    clearTimeout(timer);
    await this.#completer.drain();
    await this.#heartbeater.stop();
    await Promise.all(this.#published); // the summaries of what it did, so a reader after stop() sees them
  }

  /** Keeps a summary publish that nobody awaits until it settles (it never rejects: OpEvents logs). */
  #publishing(p: Promise<void> | undefined): void {
    if (!p) return;
    this.#published.add(p);
    void p.finally(() => this.#published.delete(p));
  }

  /** One claim pass now, on a started pool (tests call this instead of waiting for a notification or the poll). */
  claimOnce(): Promise<void> {
    this.#wake();
    return this.#claimLoop();
  }

  /** One heartbeat for every running op (due or not), at the clock's time unless `now` is given. */
  heartbeatOnce(now?: Date): Promise<void> {
    return this.#heartbeater.runOnce({ now, all: true });
  }

  #wake(): void {
    if (!this.#started) return;
    if (this.#claiming) this.#again = true;
    else void this.#claimLoop();
  }

  async #claimLoop(): Promise<void> {
    if (this.#claiming) return;
    this.#claiming = true;
    try {
      do {
        this.#again = false;
        const free = this.#free();
        if (free <= 0 || !this.#started) break;
        const ops = await this.#o.ops.claim({
          routings: this.#o.routing,
          kinds: this.#o.serves,
          limit: free,
          worker_id: this.workerId,
          owner_type: this.#o.ownerType,
          after: this.#after,
          several: this.#several,
          now: this.#o.clock.sqlNow(),
        });
        for (const op of ops) this.#after[op.routing] = accountKey(op); // in claim order: the last one counts
        if (ops.length > 0) this.#publishing(this.#o.events?.transitions(ops)); // queued before any progress of theirs
        for (const op of ops) this.#run(op);
        if (ops.length === free) this.#again = true;
      } while (this.#again);
    } catch (err) {
      this.#error(err); // the poll timer tries again
    } finally {
      this.#claiming = false;
    }
  }

  /**
   * Eager start: holds a free slot for an op this process is creating, when this pool would run it
   * (its routing and kind, started, a slot free). The create inserts the op already claimed by this
   * pool if its routing has nothing queued (no claim round trip, no notification: the handler starts
   * as the insert returns); `take` then runs it, else gives the slot back. Null: no slot here.
   */
  reserve(routing: string, kind: string): EagerSlot | null {
    if (!this.#started || this.#free() <= 0 || !this.#o.routing.includes(routing) || !this.#o.serves.includes(kind)) return null;
    this.#reserved++;
    let held = true;
    return {
      owner_id: this.workerId,
      owner_type: this.#o.ownerType,
      take: (op) => {
        if (!held) return;
        held = false;
        this.#reserved--;
        if (op?.status !== 'running' || op.owner_id !== this.workerId) return this.#wake();
        if (this.#started) return this.#run(op);
        // Stopped while the insert ran: the op goes back to the queue for another worker.
        const ref = { op_id: op.op_id, epoch: op.lease_epoch };
        this.#publishing(
          this.#o.ops.release({ leases: [ref], now: this.#o.clock.sqlNow() }).then(
            (ops) => this.#o.events?.transitions(ops),
            (err: unknown) => this.#error(err),
          ),
        );
      },
    };
  }

  #free(): number {
    return this.#o.concurrency - this.#active.size - this.#reserved;
  }

  #run(op: Operation): void {
    const events = this.#o.events;
    const publisher = events ? new OpPublisher(events.streams, streamOf(op), (err) => this.#error(err)) : null;
    const r = new RunningOp(op, publisher, this.#o.clock);
    this.#active.set(op.op_id, r);
    const task = runOp(r, this.#o.kinds.get(op.kind), {
      ops: this.#o.ops,
      completer: this.#completer,
      log: this.#o.log,
      events,
      clock: this.#o.clock,
      host: this.#o.host,
    }).finally(() => {
      this.#active.delete(r.op.op_id);
      this.#tasks.delete(task);
      if (this.#active.size === 0) this.emit('idle');
      this.#wake();
    });
    this.#tasks.add(task);
  }

  #error(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#o.log.warn({ err }, `worker ${this.workerId}: ${(err as Error)?.message ?? err}`);
  }
}
