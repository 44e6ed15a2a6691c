/**
 * The events of an op's progress stream, as the server stores them and the browser and CLI receive
 * them over SSE. Pure types: this module depends on nothing but its neighbours in `shared`. The server
 * validates bodies with zod schemas (`lro/streams/types.ts`) that are checked to match these.
 */
import type { ProgressSummary } from './progress.js';
import type { OpError } from './operation.js';
import type { Status } from './status.js';

/** A progress event's level, least to most severe. */
export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

/** Progress as a count towards a total (rather than a percent). */
export interface ProgressCount {
  current: number;
  total: number;
  unit?: string;
  /** This phase's share of the op's overall percent, relative to the other phases'. @default 1 */
  weight?: number;
}

/** A `progress` event's body: what the handler reported, plus the speed and ETA the worker works out. */
export interface ProgressBody {
  type: 'progress';
  phase: string;
  message?: string;
  /** A percent (0–100) or a count towards a total. */
  progress?: number | ProgressCount;
  detail?: unknown;
  level?: Level;
  /** Units per second (filled in by the worker from its samples). */
  speed?: number;
  /** Seconds left in this phase (filled in by the worker). */
  eta_s?: number;
}

/**
 * A `summary` event's body: the op's state at a change (built by the server from the row). The
 * server only requires it to be an object; `OpSummary` says what it writes there.
 */
export interface SummaryBody {
  type: 'summary';
  summary: Record<string, unknown>;
}

/** What the server writes in a summary (`summaryOf`), as it reads after JSON: times are ISO strings. */
export interface OpSummary {
  status: Status;
  attempt: number;
  max_attempts: number;
  /** The row's progress summary (no ETAs once the op is not running). */
  progress?: ProgressSummary;
  error?: OpError;
  /** The previous attempt's error, while the op is retried. */
  last_error?: OpError;
  result?: unknown;
  cancel_requested?: boolean;
  /** When a queued retry runs. */
  run_at?: string;
  started_at?: string;
  finished_at?: string;
  /** On the summary sent when a running op stops making progress. */
  stalled?: boolean;
}

export type EventBody = ProgressBody | SummaryBody;

/** Where an event sits in its stream: its seq (1.., contiguous) and when it was stored. */
export interface EventPlace {
  seq: number;
  /** ISO 8601. */
  ts: string;
}

/** An event as stored and delivered: the body plus its place in the stream. */
export type StreamEvent = EventBody & EventPlace;

/** Word that events `from_seq`..`to_seq` were evicted from the ring before the reader got to them. */
export interface GapItem {
  type: 'gap';
  from_seq: number;
  to_seq: number;
}

/** What a reader gets: events in seq order, or word that events were evicted before it read them. */
export type StreamItem = StreamEvent | GapItem;

/** The events a watcher (browser, CLI) receives over SSE: `id` is the seq, `event` the item's type. */
export type WatchEvent =
  | { id?: number; event: 'progress'; data: ProgressBody & EventPlace }
  | { id?: number; event: 'summary'; data: { type: 'summary'; summary: OpSummary } & EventPlace }
  | { id?: number; event: 'gap'; data: GapItem };
