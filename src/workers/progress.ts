import type { ProgressEvent } from '../lro/kinds.js';

export interface PhaseSummary {
  phase: string;
  percent: number | null;
  current?: number;
  total?: number;
  unit?: string;
  weight: number;
  message?: string;
}

/** What the op row's `progress_summary` holds: the latest state of each phase and an overall percent. */
export interface ProgressSummary {
  phase: string;
  percent: number | null;
  message?: string;
  phases: PhaseSummary[];
  updated_at: string;
}

/**
 * Keeps the latest progress of one running op in memory. `progress()` never blocks and never does
 * I/O: the heartbeat picks up the summary (`take()`) when it changed, so a burst of events costs one
 * write.
 */
export class ProgressTracker {
  #phases = new Map<string, PhaseSummary>();
  #current = '';
  #message: string | undefined;
  #dirty = false;

  record(event: ProgressEvent): void {
    const prior = this.#phases.get(event.phase);
    const p = event.progress;
    const next: PhaseSummary =
      typeof p === 'number'
        ? { phase: event.phase, percent: clamp(p), weight: prior?.weight ?? 1 }
        : p
          ? { phase: event.phase, percent: p.total > 0 ? clamp((100 * p.current) / p.total) : null, current: p.current,
              total: p.total, unit: p.unit, weight: p.weight ?? prior?.weight ?? 1 }
          : { ...(prior ?? { phase: event.phase, percent: null, weight: 1 }) };
    if (event.message !== undefined) next.message = event.message;
    this.#phases.set(event.phase, next);
    this.#current = event.phase;
    if (event.message !== undefined) this.#message = event.message;
    this.#dirty = true;
  }

  /** The summary if it changed since the last take, else undefined. */
  /** Marks the summary as changed again (a write carrying it failed). */
  markDirty(): void {
    this.#dirty = this.#phases.size > 0;
  }

  take(): ProgressSummary | undefined {
    if (!this.#dirty) return undefined;
    this.#dirty = false;
    return this.summary();
  }

  summary(): ProgressSummary | undefined {
    if (this.#phases.size === 0) return undefined;
    const phases = [...this.#phases.values()];
    const weight = phases.reduce((s, ph) => s + ph.weight, 0);
    const percent = weight > 0 ? phases.reduce((s, ph) => s + (ph.percent ?? 0) * ph.weight, 0) / weight : null;
    return { phase: this.#current, percent, message: this.#message, phases, updated_at: new Date().toISOString() };
  }
}

const clamp = (n: number) => Math.max(0, Math.min(100, n));
