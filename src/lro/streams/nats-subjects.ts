/**
 * The subjects of the `nats` adapter: one JetStream stream (`LRO_PROGRESS`) holds every progress
 * stream, each a subject `<storage>.lro.<op_id>` whose messages are batches of events. How a write is
 * numbered and fenced, and the reads and purges of one subject.
 */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { AppendOutcome, AppendRequest } from './batcher.js';
import { StaleEpochError, type HistoryPage, type StreamAddress, type StreamEvent } from './types.js';

export const JS_STREAM = 'LRO_PROGRESS';
export const SUBJECTS = 'persist.*.lro.*';
/** Header of every message: the newest lease epoch its subject had seen (the fencing high-water mark). */
export const EPOCH_HEADER = 'Lro-Epoch';
/**
 * Header of every message: the id of the write that stored it, so that a writer whose ack was lost
 * knows its message when it reads the subject's last one. Not `Nats-Msg-Id`: the expected subject
 * sequence every write carries already refuses a repeat, and the server's duplicate window would
 * keep two minutes of ids for nothing (2–3 µs of server and 4–7 µs of client CPU a message, measured
 * on 20,000 publishes).
 */
export const WRITE_HEADER = 'Lro-Write';
/** JetStream stores a message only if its subject's last message has this stream seq (0: none yet). */
export const EXPECTED_LAST_SUBJECT_SEQ = 'Nats-Expected-Last-Subject-Sequence';

/** Where a subject's next write goes. */
export interface SubjectState {
  lastSeq: number;
  lastStreamSeq: number;
  /** The newest epoch the subject has seen, from its last message. */
  epoch: number;
}

export const subjectOf = (addr: StreamAddress) => `${addr.storage}.${addr.name}`;

/** The subject's last stored message: its last event seq, stream seq, epoch and write id (reads only). */
export async function subjectLast(jsm: JetStreamManager, subject: string): Promise<{ state: SubjectState; msgId: string | null }> {
  const msg = await jsm.streams.getMessage(JS_STREAM, { last_by_subj: subject }); // null: no message yet
  if (!msg) return { state: { lastSeq: 0, lastStreamSeq: 0, epoch: 0 }, msgId: null };
  return {
    state: {
      lastSeq: msg.json<StreamEvent[]>().at(-1)?.seq ?? 0,
      lastStreamSeq: msg.seq,
      epoch: Number(msg.header?.get(EPOCH_HEADER) || 0),
    },
    msgId: msg.header?.get(WRITE_HEADER) || null,
  };
}

/**
 * Purges a subject's messages stamped before `cutoff` (ms since the epoch), up to but not including
 * its last one (where seqs go on). Returns how many events went.
 */
export async function subjectTrim(js: JetStreamClient, jsm: JetStreamManager, subject: string, cutoff: number): Promise<number> {
  const { state: last } = await subjectLast(jsm, subject);
  if (last.lastStreamSeq === 0) return 0;
  let keepFrom = 0;
  let dropped = 0;
  const consumer = await js.consumers.get(JS_STREAM, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  try {
    const messages = await consumer.fetch({ max_messages: 10_000, expires: 5000 });
    for await (const m of messages) {
      const events = m.json<StreamEvent[]>();
      // A message's events share one stamp; seqs and stamps grow together.
      if (m.seq >= last.lastStreamSeq || Date.parse(events[0]?.ts ?? '') >= cutoff) break;
      dropped += events.length;
      keepFrom = m.seq + 1;
      if (m.info.pending === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
  if (keepFrom > 0) await jsm.streams.purge(JS_STREAM, { filter: subject, seq: keepFrom });
  return dropped;
}

/** A write judged: the events to store (numbered), each request's outcome, and the epoch mark to store. */
export interface Judged {
  events: StreamEvent[];
  outcomes: AppendOutcome[];
  epoch: number;
}

/**
 * Numbers the events of a write after the subject's last seq, stamped `ts`, refusing those whose
 * epoch is older than the subject's (raised by earlier events of the same write).
 */
export function judge(items: AppendRequest[], state: SubjectState, ts: string): Judged {
  const events: StreamEvent[] = [];
  let epoch = state.epoch;
  const outcomes = items.map(({ addr, body }): AppendOutcome => {
    if (addr.epoch !== undefined && addr.epoch < epoch) return new StaleEpochError(addr, epoch);
    epoch = Math.max(epoch, addr.epoch ?? 0);
    const event = { ...body, seq: state.lastSeq + 1 + events.length, ts } as StreamEvent;
    events.push(event);
    return event;
  });
  return { events, outcomes, epoch };
}

/** The JetStream API error code of `err`, if it has one. */
export function apiCode(err: unknown): number | undefined {
  const e = err as { api_error?: { err_code?: number }; code?: unknown };
  return e?.api_error?.err_code ?? (typeof e?.code === 'number' ? e.code : undefined);
}

/** Stored events of one subject with seq ≥ fromSeq, oldest first, at most `limit` (an ephemeral consumer reads them). */
export async function subjectHistory(
  js: JetStreamClient,
  jsm: JetStreamManager,
  subject: string,
  fromSeq: number,
  limit: number,
): Promise<HistoryPage> {
  const { state: last } = await subjectLast(jsm, subject);
  if (last.lastStreamSeq === 0) return { events: [], first_seq: null, last_seq: 0 };
  const page: HistoryPage = { events: [], first_seq: null, last_seq: last.lastSeq };
  if (fromSeq > last.lastSeq) return page;
  const consumer = await js.consumers.get(JS_STREAM, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  const messages = await consumer.fetch({ max_messages: 10_000, expires: 5000 });
  for await (const m of messages) {
    const events = m.json<StreamEvent[]>();
    page.first_seq ??= events[0]?.seq ?? null;
    for (const e of events) if (e.seq >= fromSeq && page.events.length < limit) page.events.push(e);
    page.last_seq = Math.max(page.last_seq, events.at(-1)?.seq ?? 0);
    if (m.seq >= last.lastStreamSeq || m.info.pending === 0 || page.events.length >= limit) break;
  }
  await consumer.delete().catch(() => {});
  return page;
}

/**
 * Subjects whose write position is kept (~150 bytes each). Above the ops created and run in one burst
 * (`npm run bench` creates 20,000 before its workers start): a forgotten one costs a read before its
 * next write.
 */
const KEPT_SUBJECTS = 50_000;

/**
 * The write positions of recently written subjects (one per op: without a bound a long-lived worker
 * would keep one per op it ever ran). A forgotten one is read back from the server.
 */
export class SubjectPositions {
  readonly #state = new Map<string, SubjectState>();

  get(subject: string): SubjectState | undefined {
    return this.#state.get(subject);
  }

  remember(subject: string, state: SubjectState): void {
    this.#state.delete(subject);
    this.#state.set(subject, state);
    if (this.#state.size > KEPT_SUBJECTS) this.#state.delete(this.#state.keys().next().value!);
  }

  delete(subject: string): void {
    this.#state.delete(subject);
  }
}
