/**
 * The shapes of progress that server and browser share: what a handler reports (`ProgressEvent`)
 * and what an op's `progress_summary` holds. Pure types: this module depends on nothing.
 */
import type { Level, ProgressCount } from './events.js';

export interface ProgressEvent {
  phase: string;
  message?: string;
  /** A percent (0–100) or a count towards a total. */
  progress?: number | ProgressCount;
  detail?: unknown;
  level?: Level;
}

export interface PhaseSummary {
  phase: string;
  percent: number | null;
  current?: number;
  total?: number;
  unit?: string;
  weight: number;
  message?: string;
  /** Units per second, smoothed over this phase's own recent samples. */
  speed?: number;
  /** Seconds left, only while the phase runs (never on a finished phase or an op that ended). */
  eta_s?: number;
  /** When the phase started running (its first event until it moves). */
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
