import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import { buildHub, type HubOptions } from '../../src/api/app.js';
import type { Lro } from '../../src/app/lro.js';
import { createLogger } from '../../src/lro/log.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A hub on a free loopback port, closed after the file; returns its base URL and a request helper. */
export async function startHub(lro: Lro, opts: Pick<HubOptions, 'log' | 'logger'> = {}) {
  const log = opts.log ?? (process.env.HUB_LOG ? createLogger({ level: 'error' }) : false);
  const app = buildHub({ lro, adminToken: ADMIN_TOKEN, ...(opts.logger === undefined ? { log } : { logger: opts.logger }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  afterAll(() => app.close());
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  async function call(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(base + path, { method, headers, body });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers, bytes: Buffer.byteLength(text) };
  }
  return { app, base, call };
}

export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/**
 * Reads an SSE response until the server closes it (or `stopAfter` events), parsing each frame;
 * `onEvent` sees each as it arrives (a test's signal that the op got somewhere); `signal` hangs up,
 * resolving with the events read so far.
 */
export async function readSse(
  url: string,
  opts: { token?: string; lastEventId?: string; stopAfter?: number; onEvent?: (e: SseEvent) => void; signal?: AbortSignal } = {},
): Promise<SseEvent[]> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
  const ac = new AbortController();
  opts.signal?.addEventListener('abort', () => ac.abort(), { once: true });
  const res = await fetch(url, { headers, signal: ac.signal });
  if (res.status !== 200) throw new Error(`SSE answered ${res.status}: ${await res.text()}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(
          frame
            .split('\n')
            .filter((l) => l && !l.startsWith(':'))
            .map((l) => {
              const i = l.indexOf(':');
              return [l.slice(0, i), l.slice(i + 1).trimStart()];
            }),
        );
        if (fields.data === undefined) continue;
        const event: SseEvent = { id: fields.id, event: fields.event ?? 'message', data: JSON.parse(fields.data) };
        events.push(event);
        opts.onEvent?.(event);
        if (opts.stopAfter && events.length >= opts.stopAfter) {
          ac.abort();
          return events;
        }
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  }
  return events;
}

/**
 * Bytes no HTTP client would send (Node's parser refuses them before Fastify), written on a raw socket;
 * the whole answer once it closes.
 */
export async function rawRequest(base: string, head: string): Promise<{ status: number; headers: string; body: string }> {
  const socket = connect(Number(new URL(base).port), new URL(base).hostname);
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  socket.on('error', () => {}); // the hub destroys the socket after answering
  socket.write(head);
  await once(socket, 'close');
  const text = Buffer.concat(chunks).toString();
  const end = text.indexOf('\r\n\r\n');
  return { status: Number(text.split(' ')[1]), headers: text.slice(0, end), body: text.slice(end + 4) };
}
