import { once } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Lro } from '../app/lro.js';
import { summaryOf } from '../lro/op-events.js';
import { report, sseClientChannel, type SseClientMessage } from '../lro/instruments.js';
import { isTerminal } from '../shared/status.js';
import { streamOf, type StreamItem } from '../lro/streams/index.js';
import type { Operation } from '../shared/operation.js';

const KEEP_ALIVE_MS = 15_000;
/** After the row turns terminal, how long to wait for its summary event before sending one from the row. */
const TERMINAL_GRACE_MS = 2_000;
/** How long a stream watches its op's row for the end (a stream open longer ends on the summary event alone). */
const WATCH_ROW_MS = 24 * 3600_000;

const frame = (item: StreamItem) =>
  item.type === 'gap'
    ? `event: gap\ndata: ${JSON.stringify(item)}\n\n`
    : `id: ${item.seq}\nevent: ${item.type}\ndata: ${JSON.stringify(item)}\n\n`;

const isTerminalSummary = (item: StreamItem) => item.type === 'summary' && isTerminal(String(item.summary.status));

/**
 * `GET /v1/ops/:op_id/events`: SSE with `id: <seq>` from `fromSeq`, keep-alive comments, closed after
 * the terminal summary. Each client reads through its own bounded queue and waits for `drain`, so a
 * slow client holds up no one and cannot grow the hub's memory: one that falls behind re-reads from
 * storage and is told (`event: gap`) what the ring no longer holds.
 */
export async function streamOpEvents(p: { lro: Lro; op: Operation; fromSeq: number; request: FastifyRequest; reply: FastifyReply }) {
  const { lro, op, request, reply } = p;
  // What hooks set so far (CORS), which a hijacked reply would drop.
  const set = reply.getHeaders() as Record<string, string | number | string[]>;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...set,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const ac = new AbortController();
  request.raw.on('close', () => ac.abort());
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  // Should the terminal summary never reach the stream (it is best effort), end from the row.
  let fallback: NodeJS.Timeout | undefined;
  void lro.wait(op.op_id, WATCH_ROW_MS, ac.signal).then(
    (final) => {
      if (!isTerminal(final.status) || ac.signal.aborted) return;
      fallback = setTimeout(() => {
        if (ac.signal.aborted) return;
        res.write(`event: summary\ndata: ${JSON.stringify({ type: 'summary', summary: summaryOf(final) })}\n\n`);
        ac.abort();
      }, TERMINAL_GRACE_MS);
    },
    () => {},
  );
  report<SseClientMessage>(sseClientChannel, () => ({ db: lro.db, delta: 1 }));
  try {
    for await (const batch of lro.streams.readBatches(streamOf(op), { fromSeq: p.fromSeq, signal: ac.signal })) {
      let chunk = '';
      let done = false;
      for (const item of batch) {
        chunk += frame(item);
        if (isTerminalSummary(item)) {
          done = true;
          break;
        }
      }
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(ac.signal, 'abort')]);
      if (done) break;
    }
  } catch (err) {
    if (!ac.signal.aborted) request.log.warn({ err }, 'event stream ended early');
  } finally {
    clearInterval(keepAlive);
    clearTimeout(fallback);
    ac.abort();
    res.end();
    report<SseClientMessage>(sseClientChannel, () => ({ db: lro.db, delta: -1 }));
  }
}
