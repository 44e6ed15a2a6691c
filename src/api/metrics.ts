import { defaultLogger } from '../lro/log.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Lro } from '../app/lro.js';
import {
  appendChannel,
  listen,
  rescueChannel,
  sseClientChannel,
  type AppendMessage,
  type RescueMessage,
  type SseClientMessage,
} from '../lro/instruments.js';
import {
  operationCountActive,
  operationFinishedSince,
  operationQueueStats,
  type FinishedMark,
  type FinishedOp,
} from '../lro/sql/metrics.js';

export interface HubMetricsOptions {
  /** The clock of the scrape's statements; tests pin it. @default the database's `now()` */
  now?: () => Date | undefined;
  /** How far behind the clock the window of finished ops closes (see operationFinishedSince). @default 5 */
  settleS?: number;
  /** Finished ops read per scrape at most; a larger backlog is read over the next scrapes. @default 5000 */
  finishedPerScrape?: number;
  /** A scrape's statements give up after this long (`lro_db_up` 0). @default 5000 */
  timeoutMs?: number;
  /** Where a scrape's failed statements are reported (the scrape answers `lro_db_up 0`). @default warn on defaultLogger() */
  onError?: (err: unknown) => void;
}

const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/**
 * A hub's metrics, in a registry of its own. Two sources:
 * - the database, at scrape time (collect callbacks sharing one refresh per scrape): what the whole
 *   cluster does, hosts included, since hosts are other processes with no HTTP of their own. Active
 *   ops and queues are counted afresh from the partial indexes; finished ops are read once each,
 *   from a watermark on `finished_at`, into counters and histograms. Every hub reports the same
 *   cluster: query one, or take `max` across them, rather than summing;
 * - this process, through the engine's diagnostics channels: its maintainer's rescues, its stream
 *   appends, this Lro's SSE clients.
 */
export class HubMetrics {
  readonly registry = new Registry();
  readonly #lro: Lro;
  readonly #o: Required<HubMetricsOptions>;
  #mark: FinishedMark;
  #refreshing: Promise<void> | null = null;
  readonly #unsubscribe: (() => void)[];
  readonly #m;

  constructor(lro: Lro, opts: HubMetricsOptions = {}) {
    this.#lro = lro;
    this.#o = {
      now: () => undefined,
      settleS: 5,
      finishedPerScrape: 5000,
      timeoutMs: 5000,
      onError: (err) => defaultLogger().warn({ err }, 'metrics: database statements failed'),
      ...opts,
    };
    // Finished ops count from the hub's start; Prometheus' rate() and increase() expect counters to.
    this.#mark = { finished_us: String(Date.now() * 1000), op_id: '00000000-0000-0000-0000-000000000000' };
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry }); // process_* and nodejs_*: CPU, memory, event loop lag, GC
    const collect = () => this.#scrape();
    this.#m = {
      dbUp: new Gauge({ name: 'lro_db_up', help: "1 when this scrape's database statements succeeded", registers, collect }),
      ops: new Gauge({
        name: 'lro_ops',
        help: 'Active ops (queued, running) by kind and status',
        labelNames: ['kind', 'status'],
        registers,
        collect,
      }),
      queued: new Gauge({
        name: 'lro_queued_ops',
        help: 'Queued ops by routing, due or waiting out a retry backoff',
        labelNames: ['routing'],
        registers,
        collect,
      }),
      oldest: new Gauge({
        name: 'lro_oldest_queued_age_seconds',
        help: 'How long the oldest due queued op of each routing has waited',
        labelNames: ['routing'],
        registers,
        collect,
      }),
      finished: new Counter({
        name: 'lro_ops_finished_total',
        help: 'Ops that reached a terminal status, by kind and status',
        labelNames: ['kind', 'status'],
        registers,
        collect,
      }),
      retries: new Counter({
        name: 'lro_op_retries_total',
        help: 'Attempts beyond the first of finished ops (failures retried, leases rescued)',
        labelNames: ['kind'],
        registers,
        collect,
      }),
      wait: new Histogram({
        name: 'lro_op_enqueue_to_start_seconds',
        help: 'Enqueue to first start of finished ops that ran',
        labelNames: ['kind'],
        buckets: WAIT_BUCKETS,
        registers,
        collect,
      }),
      run: new Histogram({
        name: 'lro_op_run_seconds',
        help: 'First start to finish of finished ops that ran, by outcome',
        labelNames: ['kind', 'status'],
        buckets: RUN_BUCKETS,
        registers,
        collect,
      }),
      rescues: new Counter({
        name: 'lro_lease_rescues_total',
        help: "Stale leases rescued by this process's maintainer, by what became of the op",
        labelNames: ['kind', 'outcome'],
        registers,
      }),
      // One observation per append (the events of one stream handed over together share their lag):
      // an observe costs microseconds, and a busy op appends tens of thousands of events a second.
      appendLag: new Histogram({
        name: 'lro_stream_append_lag_seconds',
        help: 'Stream appends in this process: events handed to the adapter to committed',
        buckets: LAG_BUCKETS,
        registers,
      }),
      appended: new Counter({
        name: 'lro_stream_events_appended_total',
        help: 'Events this process committed to progress streams',
        registers,
      }),
      sse: new Gauge({ name: 'lro_sse_clients', help: 'SSE clients connected to this hub', registers }),
    };
    this.#unsubscribe = [
      listen<RescueMessage>(rescueChannel, (msg) => {
        if (msg.db !== lro.db) return;
        for (const op of msg.rescued) this.#m.rescues.inc({ kind: op.kind, outcome: op.status });
      }),
      listen<AppendMessage>(appendChannel, (msg) => {
        this.#m.appendLag.observe(msg.seconds);
        this.#m.appended.inc(msg.events);
      }),
      listen<SseClientMessage>(sseClientChannel, (msg) => {
        if (msg.db === lro.db) this.#m.sse.inc(msg.delta);
      }),
    ];
  }

  /** Stops listening to the engine. */
  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  /** One database refresh per scrape, however many metrics ask for it. */
  async #scrape(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
    try {
      await withDeadline(this.#refreshing, this.#o.timeoutMs, 'metrics statements');
    } catch {
      this.#m.dbUp.set(0); // already reported by #refresh, or still running past the deadline
    }
  }

  async #refresh(): Promise<void> {
    const db = this.#lro.db;
    const now = this.#o.now();
    try {
      const [active, queues, finished] = await Promise.all([
        operationCountActive(db),
        operationQueueStats(db, { now }),
        operationFinishedSince(db, { after: this.#mark, settle_s: this.#o.settleS, limit: this.#o.finishedPerScrape, now }),
      ]);
      this.#m.ops.reset();
      for (const r of active) this.#m.ops.set({ kind: r.kind, status: r.status }, r.n);
      this.#m.queued.reset();
      this.#m.oldest.reset();
      for (const q of queues) {
        this.#m.queued.set({ routing: q.routing }, q.queued);
        this.#m.oldest.set({ routing: q.routing }, q.oldest_due_s);
      }
      for (const op of finished) this.#observeFinished(op);
      const last = finished.at(-1);
      if (last) this.#mark = { finished_us: last.finished_us, op_id: last.op_id };
      this.#m.dbUp.set(1);
    } catch (err) {
      this.#m.dbUp.set(0);
      this.#m.ops.reset();
      this.#m.queued.reset();
      this.#m.oldest.reset();
      this.#o.onError(err);
    }
  }

  #observeFinished(op: FinishedOp): void {
    this.#m.finished.inc({ kind: op.kind, status: op.status });
    if (op.attempt > 1) this.#m.retries.inc({ kind: op.kind }, op.attempt - 1);
    if (op.wait_s !== null) this.#m.wait.observe({ kind: op.kind }, Math.max(0, op.wait_s));
    if (op.run_s !== null) this.#m.run.observe({ kind: op.kind, status: op.status }, Math.max(0, op.run_s));
  }
}

/** `p`, or a rejection (code `timeout`) naming `what` once `ms` have passed (the timer is cleared either way). */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} took longer than ${ms} ms`), { code: 'timeout' })), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
