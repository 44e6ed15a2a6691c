import type { PhaseSummary, ProgressEvent, ProgressSummary } from '../shared/progress.js';
import { systemClock } from '../lro/clock.js';

/** Smoothing of the speed estimate: the weight of the newest sample. */
const ALPHA = 0.3;
/** Speed is sampled over windows at least this long (bursts within one millisecond say nothing). */
const SAMPLE_MS = 250;

/** What the tracker knows of a phase beyond its summary: where its speed is measured from, and when it ran. */
interface PhaseClock {
  /** The last sample: speed is measured from here (time and count). */
  anchor: { at: number; current: number } | null;
  /** The progress of the phase's first event: a phase starts when it moves past it (or speaks). */
  first: number | null;
  /** Event numbers (not times: a pinned clock makes times equal) of its start and its latest event. */
  startedTick: number | null;
  updatedTick: number;
}

/**
 * Keeps the latest progress of one running op in memory. `record()` never does I/O: the heartbeat
 * takes the summary (`take()`) when it changed, so a burst of events costs one row write. It computes
 * speed and ETA per phase from that phase's own samples, the overall percent from the phase weights,
 * and whether the op has stalled (no progress for `stallMs`).
 *
 * Kinds often announce every phase at 0 when they begin (the demo does). Measuring a phase's speed
 * from that announcement counted the time the earlier phases ran: the first step of `work`, 20 s
 * into an op, read 0.049/s and an ETA of 2006 s. So a phase's clock starts when it starts running
 * (its progress moves, or it sends a message), and no earlier than the latest event of another
 * phase. Only running phases have an ETA: one that reached 100 %, one a later phase took over
 * from, and every phase once the attempt ended (`end()`) show none.
 */
export class ProgressTracker {
  #phases = new Map<string, PhaseSummary>();
  #clocks = new Map<string, PhaseClock>();
  #current = '';
  #message: string | undefined;
  #dirty = false;
  #stalled = false;
  #ended = false;
  #lastEventAt: number;
  #tick = 0;

  /** @param now the clock (ms) of every time it measures, from its creation on @default systemClock.now */
  constructor(readonly now: () => number = () => systemClock.now()) {
    this.#lastEventAt = now();
  }

  /** Records an event (validated by the caller: `validateEvent`) and returns the speed and ETA it implies for its phase. */
  record(event: ProgressEvent): { speed?: number; eta_s?: number } {
    const t = this.now();
    const at = new Date(t).toISOString();
    const tick = ++this.#tick;
    const prior = this.#phases.get(event.phase);
    const next: PhaseSummary = { ...(prior ?? { phase: event.phase, percent: null, weight: 1, started_at: at }), updated_at: at };
    const clock = this.#clocks.get(event.phase) ?? { anchor: null, first: null, startedTick: null, updatedTick: tick };
    const p = event.progress;
    const value = typeof p === 'number' ? p : p?.current;
    const moved = value !== undefined && value > (clock.first ?? 0);
    if (clock.startedTick === null && (event.message !== undefined || moved)) this.#start(event.phase, clock, next, t, tick);
    clock.first ??= value ?? null;
    clock.updatedTick = tick;
    if (typeof p === 'number') next.percent = clamp(p);
    else if (p) {
      next.percent = p.total > 0 ? clamp((100 * p.current) / p.total) : null;
      Object.assign(next, { current: p.current, total: p.total, unit: p.unit ?? prior?.unit, weight: p.weight ?? prior?.weight ?? 1 });
      sample(clock, next, p.current, t, prior?.speed);
    }
    if (event.message !== undefined) next.message = this.#message = event.message;
    this.#phases.set(event.phase, next);
    this.#clocks.set(event.phase, clock);
    this.#current = event.phase;
    this.#lastEventAt = t;
    this.#stalled = false;
    this.#dirty = true;
    return { speed: next.speed, eta_s: this.#running(event.phase) ? next.eta_s : undefined };
  }

  /** Marks the op stalled when nothing was recorded for `stallMs`; true when that is news. */
  checkStall(stallMs: number): boolean {
    if (this.#stalled || this.now() - this.#lastEventAt < stallMs) return false;
    this.#stalled = true;
    this.#dirty = true;
    return true;
  }

  /** The attempt is over (succeeded, failed, gave its lease back): from now on no phase has an ETA. */
  end(): void {
    this.#ended = true;
    this.#dirty = this.#phases.size > 0 || this.#stalled;
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
    const phases = [...this.#phases.values()].map((ph) => (this.#running(ph.phase) ? ph : withoutEta(ph)));
    const weight = phases.reduce((s, ph) => s + ph.weight, 0);
    const percent = weight > 0 ? phases.reduce((s, ph) => s + (ph.percent ?? 0) * ph.weight, 0) / weight : null;
    return {
      phase: this.#current,
      percent,
      message: this.#message,
      phases,
      stalled: this.#stalled,
      updated_at: new Date(this.#lastEventAt).toISOString(),
    };
  }

  /**
   * The phase starts running now. It may have waited since it was announced while other phases ran:
   * that time is not its own. Phases mostly run one after another, so it is taken to have started at
   * the latest event of another phase. (Beside a phase that runs at the same time, its first sample
   * is a little fast; the next ones correct it.)
   */
  #start(phase: string, clock: PhaseClock, next: PhaseSummary, t: number, tick: number): void {
    clock.startedTick = tick;
    const since = Math.min(t, Math.max(clock.anchor?.at ?? t, this.#current !== phase ? this.#lastEventAt : -Infinity));
    if (clock.anchor) clock.anchor = { ...clock.anchor, at: since };
    next.started_at = new Date(since).toISOString();
  }

  /** Started, not complete, not taken over by a later phase that started after its latest event, attempt not ended. */
  #running(phase: string): boolean {
    const clock = this.#clocks.get(phase)!;
    if (this.#ended || clock.startedTick === null || this.#phases.get(phase)!.percent === 100) return false;
    const later = [...this.#clocks.values()];
    return !later.slice(later.indexOf(clock) + 1).some((c) => c.startedTick !== null && c.startedTick > clock.updatedTick);
  }
}

/** Takes a speed sample when the anchor is at least SAMPLE_MS old, smooths it into the phase's speed and sets its ETA. */
function sample(clock: PhaseClock, next: PhaseSummary, current: number, t: number, priorSpeed: number | undefined): void {
  const anchor = clock.anchor;
  if (!anchor || current < anchor.current)
    clock.anchor = { at: t, current }; // the phase went back: measure afresh
  else if (t - anchor.at >= SAMPLE_MS) {
    const rate = (current - anchor.current) / ((t - anchor.at) / 1000);
    next.speed = priorSpeed === undefined ? rate : ALPHA * rate + (1 - ALPHA) * priorSpeed;
    clock.anchor = { at: t, current };
  }
  next.eta_s = next.speed && next.speed > 0 && next.total !== undefined ? Math.max(0, (next.total - current) / next.speed) : undefined;
}

function withoutEta(ph: PhaseSummary): PhaseSummary {
  const { eta_s: _, ...rest } = ph;
  return rest;
}

const clamp = (n: number) => Math.max(0, Math.min(100, n));
