/**
 * What the engine reports about itself, on `node:diagnostics_channel`: the loops publish, a hub's
 * metrics subscribe. The loops need no reference to a metrics registry (they are built before any
 * hub, and hosts have none), and a publish with no subscriber costs one `hasSubscribers` check.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import type pg from 'pg';

/** A rescuer pass rescued stale leases; `db` tells which Lro's rescuer it was. */
export interface RescueMessage {
  db: pg.Pool;
  rescued: { kind: string; status: string }[];
}

/** Events an adapter committed to a stream, `seconds` after they were handed to its append batcher. */
export interface AppendMessage {
  seconds: number;
  events: number;
}

/** An SSE client of the Lro on `db` connected (+1) or went away (-1). */
export interface SseClientMessage {
  db: pg.Pool;
  delta: 1 | -1;
}

export const rescueChannel = diagnostics_channel.channel('lro:rescue');
export const appendChannel = diagnostics_channel.channel('lro:stream-append');
export const sseClientChannel = diagnostics_channel.channel('lro:sse-client');

/** Publishes `make()` on `channel` when someone listens (the message is not even built otherwise). */
export function report<T>(channel: diagnostics_channel.Channel, make: () => T): void {
  if (channel.hasSubscribers) channel.publish(make());
}

/** Subscribes `fn` to `channel`; returns the unsubscribe. */
export function listen<T>(channel: diagnostics_channel.Channel, fn: (message: T) => void): () => void {
  const handler = (message: unknown) => fn(message as T);
  channel.subscribe(handler);
  return () => {
    channel.unsubscribe(handler);
  };
}
