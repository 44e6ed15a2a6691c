import type { WorkerOps } from './ops.js';
import type { RunningOp } from './runner.js';
import { systemClock, type Clock } from '../lro/clock.js';
import { Ticker, type Service } from '../lro/service.js';

/**
 * Renews the leases of one pool's running ops in one statement per tick, carrying each op's progress
 * summary when it changed (so progress never costs a write of its own). An op missing from the
 * answer lost its lease; an op with `cancel_requested_at` gets its AbortSignal fired.
 */
export class Heartbeater implements Service {
  readonly #intervalMs: number;
  readonly #active: () => Iterable<RunningOp>;
  readonly #beat: WorkerOps['heartbeat'];
  readonly #onError: (err: unknown) => void;
  readonly #heartbeatMs: number;
  readonly #stallMs: number;
  readonly #onStall: (r: RunningOp) => void;
  readonly #clock: Clock;
  readonly #ticker: Ticker;
  #inFlight: Promise<void> | null = null;

  /**
   * @param opts.intervalMs how often it looks (the summary interval): an op is written when its
   *   summary changed or its lease is due (`heartbeatMs`), so the row sees at most one write per look
   * @param opts.stallMs no progress for this long marks a running op stalled (`onStall` once)
   */
  constructor(opts: {
    intervalMs: number;
    heartbeatMs: number;
    stallMs: number;
    active: () => Iterable<RunningOp>;
    beat: WorkerOps['heartbeat'];
    onError: (err: unknown) => void;
    onStall: (r: RunningOp) => void;
    clock?: Clock;
  }) {
    this.#clock = opts.clock ?? systemClock;
    this.#intervalMs = opts.intervalMs;
    this.#heartbeatMs = opts.heartbeatMs;
    this.#stallMs = opts.stallMs;
    this.#active = opts.active;
    this.#beat = opts.beat;
    this.#onError = opts.onError;
    this.#onStall = opts.onStall;
    // A look only starts a beat and returns: the Ticker skips a tick while its pass runs, and the
    // unrenewed-lease check must run on every look, also while a beat hangs.
    this.#ticker = new Ticker(async () => void this.runOnce(), { intervalMs: this.#intervalMs, onError: this.#onError });
  }

  /** Looks every interval. Idempotent. */
  start(): void {
    this.#ticker.start();
  }

  /** Stops looking and waits for a beat in flight. Idempotent. */
  async stop(): Promise<void> {
    await this.#ticker.stop();
    await this.#inFlight;
  }

  /**
   * One look: beats the ops that are due; a beat in flight is not doubled. With `all`, every op, in a
   * beat that starts after this call (after the one in flight, which may have taken its summaries
   * before the caller's last progress).
   */
  runOnce(opts: { now?: Date; all?: boolean } = {}): Promise<void> {
    if (this.#inFlight && opts.all) return this.#inFlight.then(() => this.runOnce(opts));
    this.#abortUnrenewed();
    this.#inFlight ??= this.#tick(opts.now ?? this.#clock.sqlNow(), opts.all ?? false)
      .catch(this.#onError)
      .finally(() => {
        this.#inFlight = null;
      });
    return this.#inFlight;
  }

  /**
   * An op whose lease no beat renewed for `lease_s` may already be rescued and running elsewhere, so
   * its handler stops one look before that can happen. Checked on every look even while a beat hangs:
   * a half-open connection never errors by itself. `lastBeatAt` is taken before a beat is sent (the
   * database's `heartbeat_at` is later), so the handler stops before the rescuer may act. After a
   * claim it is the answer's arrival, a little after the database's `heartbeat_at`: the look of margin
   * covers that (a claim answer that was slow is not held against the ops it brought).
   */
  #abortUnrenewed(): void {
    const t = this.#clock.now();
    for (const r of this.#active()) {
      const silentMs = t - r.lastBeatAt;
      const leaseMs = r.op.lease_s * 1000;
      // One look of margin, but never most of a lease that is shorter than the pool's looks.
      if (silentMs + Math.min(this.#intervalMs, leaseMs / 4) >= leaseMs) {
        r.abort(
          'lease_lost',
          `no heartbeat renewed the lease on op ${r.op.op_id} (epoch ${r.epoch}) for ${(silentMs / 1000).toFixed(1)} s`,
        );
      }
    }
  }

  async #tick(now: Date | undefined, all: boolean): Promise<void> {
    const t = this.#clock.now();
    const held = [...this.#active()].filter((r) => r.abortCode !== 'lease_lost');
    for (const r of held) if (r.progress.checkStall(this.#stallMs)) this.#onStall(r);
    // Due: the lease needs renewing within the next look, or there is a new summary to carry.
    const slack = this.#intervalMs / 2;
    // A kind's lease may be shorter than the pool's beat: such an op is renewed thrice per lease.
    const dueMs = (r: RunningOp) => Math.min(this.#heartbeatMs, (r.op.lease_s * 1000) / 3) - slack;
    const running = held.filter((r) => all || t - r.lastBeatAt >= dueMs(r) || r.progress.dirty);
    if (running.length === 0) return;
    const leases = running.map((r) => ({ op_id: r.op.op_id, epoch: r.epoch, summary: r.progress.take() }));
    let rows;
    try {
      rows = await this.#beat({ leases, now });
    } catch (err) {
      // Put the summaries back so the next beat carries them; the lease itself has slack.
      running.forEach((r, i) => leases[i]!.summary && r.progress.markDirty());
      this.#onError(err);
      return;
    }
    const byId = new Map(rows.map((h) => [h.op_id, h]));
    for (const r of running) r.lastBeatAt = t;
    for (const r of running) {
      const row = byId.get(r.op.op_id);
      if (!row) r.abort('lease_lost', `lease on op ${r.op.op_id} (epoch ${r.epoch}) was lost`);
      else if (row.cancel_requested_at) r.abort('canceled', 'cancel requested');
    }
  }
}
