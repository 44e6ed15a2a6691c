import type { WorkerOps } from './ops.js';
import type { RunningOp } from './runner.js';

/**
 * Renews the leases of one pool's running ops in one statement per tick, carrying each op's progress
 * summary when it changed (so progress never costs a write of its own). An op missing from the
 * answer lost its lease; an op with `cancel_requested_at` gets its AbortSignal fired.
 */
export class Heartbeater {
  readonly #intervalMs: number;
  readonly #active: () => Iterable<RunningOp>;
  readonly #beat: WorkerOps['heartbeat'];
  readonly #onError: (err: unknown) => void;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<void> | null = null;

  constructor(opts: { intervalMs: number; active: () => Iterable<RunningOp>; beat: WorkerOps['heartbeat']; onError: (err: unknown) => void }) {
    this.#intervalMs = opts.intervalMs;
    this.#active = opts.active;
    this.#beat = opts.beat;
    this.#onError = opts.onError;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.runOnce(), this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#inFlight;
  }

  /** One beat for every running op; a beat still in flight is not doubled. */
  runOnce(now?: Date): Promise<void> {
    this.#inFlight ??= this.#tick(now).finally(() => { this.#inFlight = null; });
    return this.#inFlight;
  }

  async #tick(now?: Date): Promise<void> {
    const running = [...this.#active()].filter((r) => r.abortCode !== 'lease_lost');
    if (running.length === 0) return;
    const leases = running.map((r) => ({ op_id: r.op.op_id, epoch: r.epoch, summary: r.progress.take() }));
    let held;
    try {
      held = await this.#beat({ leases, now });
    } catch (err) {
      // Put the summaries back so the next beat carries them; the lease itself has slack.
      running.forEach((r, i) => leases[i]!.summary && r.progress.markDirty());
      this.#onError(err);
      return;
    }
    const byId = new Map(held.map((h) => [h.op_id, h]));
    for (const r of running) {
      const row = byId.get(r.op.op_id);
      if (!row) r.abort('lease_lost', `lease on op ${r.op.op_id} (epoch ${r.epoch}) was lost`);
      else if (row.cancel_requested_at) r.abort('canceled', 'cancel requested');
    }
  }
}
