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

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** A byte count for people: `4.0 MiB`, `512 B`. */
export function formatBytes(n: number): string {
  let i = 0;
  for (; n >= 1024 && i < BYTE_UNITS.length - 1; i++) n /= 1024;
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${BYTE_UNITS[i]}`;
}

/** How far a phase is, for people: `3/10 files`, or with bytes `1.5 MiB/4.0 MiB`. */
export function formatAmount(current: number, total: number, unit?: string): string {
  return unit === 'bytes' ? `${formatBytes(current)}/${formatBytes(total)}` : `${current}/${total}${unit ? ` ${unit}` : ''}`;
}

/** A speed for people: `1.2 MiB/s` with bytes, else `3.5/s`. */
export const formatSpeed = (perS: number, unit?: string) => (unit === 'bytes' ? `${formatBytes(perS)}/s` : `${perS.toFixed(1)}/s`);
