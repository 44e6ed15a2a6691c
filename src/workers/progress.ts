import type { ProgressEvent } from '../lro/kinds.js';

export interface PhaseSummary {
  phase: string;
  percent: number | null;
  current?: number;
  total?: number;
  unit?: string;
  weight: number;
  message?: string;
  /** Units per second, smoothed over the recent samples. */
  speed?: number;
  eta_s?: number;
  started_at: string;
  updated_at: string;
}

/** What the op row's `progress_summary` holds: each phase's latest state and an overall percent. */
export interface ProgressSummary {
  phase: string;
  percent: number | null;
  message?: string;
  phases: PhaseSummary[];
  stalled: boolean;
  updated_at: string;
}

/** Smoothing of the speed estimate: the weight of the newest sample. */
const ALPHA = 0.3;
/** Speed is sampled over windows at least this long (bursts within one millisecond say nothing). */
const SAMPLE_MS = 250;

/**
 * Keeps the latest progress of one running op in memory. `record()` never does I/O: the heartbeat
 * takes the summary (`take()`) when it changed, so a burst of events costs one row write. It computes
 * speed and ETA per phase from the samples, the overall percent from the phase weights, and whether
 * the op has stalled (no progress for `stallMs`).
 */
export class ProgressTracker {
  #phases = new Map<string, PhaseSummary>();
  #anchors = new Map<string, { at: number; current: number }>();
  #current = '';
  #message: string | undefined;
  #dirty = false;
  #stalled = false;
  #lastEventAt = Date.now();

  constructor(readonly now: () => number = Date.now) {}

  /** Records an event and returns the speed and ETA it implies for its phase. */
  record(event: ProgressEvent): { speed?: number; eta_s?: number } {
    const t = this.now();
    const at = new Date(t).toISOString();
    const prior = this.#phases.get(event.phase);
    const next: PhaseSummary = { ...(prior ?? { phase: event.phase, percent: null, weight: 1, started_at: at }), updated_at: at };
    const p = event.progress;
    if (typeof p === 'number') next.percent = clamp(p);
    else if (p) {
      next.percent = p.total > 0 ? clamp((100 * p.current) / p.total) : null;
      Object.assign(next, { current: p.current, total: p.total, unit: p.unit ?? prior?.unit, weight: p.weight ?? prior?.weight ?? 1 });
      const anchor = this.#anchors.get(event.phase);
      if (!anchor || p.current < anchor.current) this.#anchors.set(event.phase, { at: t, current: p.current });
      else if (t - anchor.at >= SAMPLE_MS) {
        const sample = (p.current - anchor.current) / ((t - anchor.at) / 1000);
        next.speed = prior?.speed === undefined ? sample : ALPHA * sample + (1 - ALPHA) * prior.speed;
        this.#anchors.set(event.phase, { at: t, current: p.current });
      }
      next.eta_s = next.speed && next.speed > 0 ? Math.max(0, (p.total - p.current) / next.speed) : undefined;
    }
    if (event.message !== undefined) next.message = this.#message = event.message;
    this.#phases.set(event.phase, next);
    this.#current = event.phase;
    this.#lastEventAt = t;
    this.#stalled = false;
    this.#dirty = true;
    return { speed: next.speed, eta_s: next.eta_s };
  }

  /** Marks the op stalled when nothing was recorded for `stallMs`; true when that is news. */
  checkStall(stallMs: number): boolean {
    if (this.#stalled || this.now() - this.#lastEventAt < stallMs) return false;
    this.#stalled = true;
    this.#dirty = true;
    return true;
  }

  /** True when the summary changed since the last take. */
  get dirty(): boolean {
    return this.#dirty;
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  /** Marks the summary as changed again (a write carrying it failed). */
  markDirty(): void {
    this.#dirty = this.#phases.size > 0 || this.#stalled;
  }

  /** The summary if it changed since the last take, else undefined. */
  take(): ProgressSummary | undefined {
    if (!this.#dirty) return undefined;
    this.#dirty = false;
    return this.summary();
  }

  summary(): ProgressSummary | undefined {
    if (this.#phases.size === 0 && !this.#stalled) return undefined;
    const phases = [...this.#phases.values()];
    const weight = phases.reduce((s, ph) => s + ph.weight, 0);
    const percent = weight > 0 ? phases.reduce((s, ph) => s + (ph.percent ?? 0) * ph.weight, 0) / weight : null;
    return {
      phase: this.#current, percent, message: this.#message, phases, stalled: this.#stalled,
      updated_at: new Date(this.#lastEventAt).toISOString(),
    };
  }
}

const clamp = (n: number) => Math.max(0, Math.min(100, n));
