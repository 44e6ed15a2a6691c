import type { NatsConnection } from '@nats-io/transport-node';
import type { HistoryPage, StreamEvent } from './types.js';

/** What a live read of one subject needs of the `nats` backend. */
export interface FollowSource {
  nc: NatsConnection;
  /** Each is called after every reconnect of `nc`; a follow adds its own while it lasts. */
  reconnects: Set<() => void>;
  /** The subject's stored events from a seq (`NatsStreamBackend.history`). */
  history(fromSeq: number, limit: number): Promise<HistoryPage>;
}

/**
 * Live events of `subject` from a core subscription (cheap: no consumer per reader). A message
 * missed while disconnected shows as a jump in seq, or is found by the catch-up from history that
 * runs at the start and after every reconnect; either way nothing is skipped or repeated.
 */
export async function* followSubject(
  source: FollowSource,
  subject: string,
  fromSeq: number,
  signal: AbortSignal,
): AsyncGenerator<StreamEvent[]> {
  const queue: StreamEvent[][] = [];
  let catchUp = true;
  // A poke while the loop is busy (a history read in flight) is kept, not lost: the loop then does
  // not wait. (A lost abort once left close() waiting for this follow for good.)
  let woken = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    woken = true;
    wake?.();
  };
  const onReconnect = () => {
    catchUp = true;
    poke();
  };
  source.reconnects.add(onReconnect);
  signal.addEventListener('abort', poke, { once: true });
  // A callback, not the subscription's async iterator: a promise less per message, at 10,000 a second.
  const sub = source.nc.subscribe(subject, {
    callback: (err, m) => {
      if (err) return; // the subscription ended (a closed connection): the loop ends on its signal
      try {
        queue.push(m.json<StreamEvent[]>());
      } catch {
        catchUp = true; // not a batch of ours: history decides (and fails the follow if it must)
      }
      poke();
    },
  });
  let cursor = fromSeq;
  try {
    while (!signal.aborted) {
      if (catchUp || (queue[0]?.[0] && queue[0][0].seq > cursor)) {
        catchUp = false;
        const { events } = await source.history(cursor, 100_000);
        if (events.length > 0) {
          yield events;
          cursor = events.at(-1)!.seq + 1;
        }
      }
      const batch = queue.shift();
      if (batch) {
        if ((batch[0]?.seq ?? cursor) > cursor) {
          queue.unshift(batch); // a hole before it: fill from history first
          catchUp = true;
          continue;
        }
        const fresh = (batch[0]?.seq ?? 0) >= cursor ? batch : batch.filter((e) => e.seq >= cursor);
        if (fresh.length > 0) {
          yield fresh;
          cursor = fresh.at(-1)!.seq + 1;
        }
        continue;
      }
      if (!woken) {
        await new Promise<void>((r) => {
          wake = r;
        });
      }
      wake = null;
      woken = false;
    }
  } finally {
    signal.removeEventListener('abort', poke);
    source.reconnects.delete(onReconnect);
    sub.unsubscribe();
  }
}
