import { z } from 'zod';
import { LroError, PayloadTooLargeError } from '../errors.js';
import { assertStorable, jsonSize, parseOrThrow, text } from '../schemas.js';
import { DEFAULTS } from '../../shared/defaults.js';
import { LEVELS, type EventBody, type ProgressBody, type StreamEvent, type SummaryBody } from '../../shared/events.js';
import type { Scope } from '../../shared/operation.js';

export { LEVELS };
export type { EventBody, StreamEvent, StreamItem } from '../../shared/events.js';

/** Where a stream lives: `storage` is the scope's (`persist.project-<id>`, …), `name` is `lro.<op_id>`. */
export interface StreamAddress {
  storage: string;
  name: string;
  /**
   * The writer's lease epoch (appends only). A stream refuses events whose epoch is older than the
   * newest epoch it has seen; without one an append is not fenced.
   */
  epoch?: number;
}

/** An append was refused: its epoch is older than one the stream has seen (another worker owns the op). */
export class StaleEpochError extends LroError {
  constructor(addr: StreamAddress, seen: number) {
    super(
      'lease_lost',
      `stream ${addr.storage} ${addr.name}: epoch ${addr.epoch} is older than epoch ${seen} it has seen; the events were refused`,
      {
        details: { storage: addr.storage, stream: addr.name, epoch: addr.epoch, seen },
      },
    );
  }
}

export const MAX_EVENT_BYTES = 64 * 1024;

const count = z.strictObject({
  current: z.number().finite().min(0),
  total: z.number().finite().min(0),
  unit: text({ max: 32 }).optional(),
  weight: z.number().finite().positive().max(1000).optional(),
});

/** A `progress` body (`ProgressBody`, shared with the browser: the two are checked to match below). */
export const ProgressBodySchema = z.strictObject({
  type: z.literal('progress'),
  phase: text({ min: 1, max: 100 }),
  message: text({ max: 4000 }).optional(),
  progress: z.union([z.number().finite().min(0).max(100), count]).optional(),
  detail: z.unknown().optional(),
  level: z.enum(LEVELS).optional(),
  /** Filled in by the worker from its samples. */
  speed: z.number().finite().optional(),
  eta_s: z.number().finite().optional(),
});

/** A `summary` body: the server builds it (`summaryOf`); only its being an object is checked. */
export const SummaryBodySchema = z.strictObject({ type: z.literal('summary'), summary: z.record(z.string(), z.unknown()) });

export const EventBodySchema = z.discriminatedUnion('type', [ProgressBodySchema, SummaryBodySchema]);

// The schemas accept exactly the shared shapes: a change to either side that the other lacks fails to compile.
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Each assignable to the other, with the same keys (mutual assignability alone lets an optional key differ). */
type Same<A, B> = Mutual<A, B> extends true ? Mutual<keyof A, keyof B> : false;
const shapesMatch: [
  Same<z.output<typeof ProgressBodySchema>, ProgressBody>,
  Same<z.output<typeof SummaryBodySchema>, SummaryBody>,
  Same<z.output<typeof EventBodySchema>, EventBody>,
] = [true, true, true];
void shapesMatch;

export interface StreamConfig {
  /** Events kept per stream (a ring). @default DEFAULTS.streamMaxMsgs (2000) */
  max_msgs: number;
  /** Seconds an event is kept. @default none */
  max_age_s?: number;
}
export const DEFAULT_STREAM_CONFIG: StreamConfig = { max_msgs: DEFAULTS.streamMaxMsgs };

/** A page of stored history: `first_seq` is its first event's seq (null when empty), `last_seq` the stream's newest. */
export interface HistoryPage {
  events: StreamEvent[];
  first_seq: number | null;
  last_seq: number;
}

/**
 * The storage side of a progress stream, shaped like a persist-stream client. Adapters (`pg`, `nats`)
 * implement it; readers and publishers are built on it.
 */
export interface StreamBackend {
  readonly name: 'pg' | 'nats';
  /**
   * Starts the background work live reads need (pg: hearing the listener's notifications; nats:
   * watching the connection for reconnects). Idempotent; `follow` calls it, nothing else must.
   */
  start(): Promise<void>;
  /**
   * Appends events in order and returns them with their seqs (contiguous per stream).
   * @throws StaleEpochError when `addr.epoch` is older than the newest epoch the stream has seen
   */
  append(addr: StreamAddress, bodies: EventBody[]): Promise<StreamEvent[]>;
  /**
   * The first event of each of many streams that nobody has written yet (new ops' summaries), one
   * promise per item as `append` would give: written at once, without asking where each stream ends.
   * A stream written meanwhile costs a lost race, never an event. Optional: `append` otherwise.
   */
  appendFirst?(items: { addr: StreamAddress; body: EventBody }[]): Promise<StreamEvent[]>[];
  /** Stored events with seq ≥ fromSeq, oldest first, at most `limit`. */
  history(addr: StreamAddress, fromSeq: number, limit: number): Promise<HistoryPage>;
  /** Batches of events with seq ≥ fromSeq as they are stored, live, in order, until `signal` aborts (evicted ones are skipped). */
  follow(addr: StreamAddress, fromSeq: number, signal: AbortSignal): AsyncIterable<StreamEvent[]>;
  configure(addr: StreamAddress, config: StreamConfig): Promise<void>;
  /** Drops events older than their stream's `max_age_s` (a maintenance pass); returns how many. */
  trimAge(now?: Date): Promise<number>;
  drop(addr: StreamAddress): Promise<void>;
  /** Writes what was appended, stops what `start` began and waits for it. Idempotent. */
  close(): Promise<void>;
}

/** The storage of a scope, as the platform names it. */
export function storageOf(scope: Scope): string {
  return scope.type === 'hub' ? 'persist.hub' : `persist.${scope.type}-${scope.id}`;
}

/** An op's stream, fenced by the lease epoch the op had in `op` (its writer's, for a worker). */
export function streamOf(op: { op_id: string; scope_type: Scope['type']; scope_id: string; lease_epoch?: number }): StreamAddress {
  const addr: StreamAddress = { storage: storageOf({ type: op.scope_type, id: op.scope_id }), name: `lro.${op.op_id}` };
  if (op.lease_epoch !== undefined) addr.epoch = op.lease_epoch;
  return addr;
}

/**
 * Validates an event body: its shape, a known level, JSON-serialisable, at most 64 KiB, and nothing
 * Postgres cannot store (a NUL or a lone surrogate in `detail`, keys included, which no schema types).
 */
export function validateEvent(body: unknown): EventBody {
  const size = jsonSize(body, 'event');
  if (size > MAX_EVENT_BYTES) throw new PayloadTooLargeError('event', size, MAX_EVENT_BYTES);
  const event = parseOrThrow(EventBodySchema, body, 'event');
  assertStorable(event, 'event');
  return event;
}
