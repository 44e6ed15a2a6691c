import { EventEmitter } from 'node:events';
import pg from 'pg';
import { Ticker } from './service.js';

export const CHANNELS = ['lro_queued', 'lro_done', 'lro_cancel', 'lro_stream'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface ListenerEvents {
  notification: [channel: Channel, payload: string];
  /** After every (re)connect: anything may have been missed while disconnected, so re-check. */
  connected: [];
  error: [err: Error];
}

/**
 * One dedicated LISTEN connection per process, shared by workers and waiters. It reconnects by
 * itself (with backoff) when the server ends it, and says so with `connected`. A LISTEN connection
 * only ever receives, so a path that silently drops its packets would never show: it is pinged every
 * `pingMs` (`runOnce()`, one ping) and replaced when a ping (or a connect) gets no answer within `pingMs`.
 * Nothing starts in the constructor: `start()` connects, `stop()` ends it all; both idempotent.
 */
export class PgListener extends EventEmitter<ListenerEvents> {
  readonly #connectionString: string;
  readonly #applicationName: string;
  #client: pg.Client | null = null;
  #stopped = true;
  #retryMs = 50;
  #timer: NodeJS.Timeout | null = null;
  #ready: Promise<void> | null = null;
  readonly #pingMs: number;
  readonly #pinger: Ticker;

  /** @param opts.pingMs how often the connection is checked, and how long a check may take. @default 15000 */
  constructor(opts: { connectionString: string; applicationName?: string; pingMs?: number }) {
    super();
    this.setMaxListeners(0);
    this.#connectionString = opts.connectionString;
    this.#applicationName = opts.applicationName ?? 'lro-listener';
    this.#pingMs = opts.pingMs ?? 15_000;
    this.#pinger = new Ticker(() => this.runOnce(), { intervalMs: this.#pingMs, onError: () => {} });
  }

  /** Resolves once the first connection listens. Idempotent. */
  start(): Promise<void> {
    if (!this.#stopped) return this.#ready ?? Promise.resolve();
    this.#stopped = false;
    this.#pinger.start();
    this.#ready = this.#connect();
    return this.#ready;
  }

  /** Ends the connection and the pings; a reconnect that was due does not happen. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const client = this.#client;
    this.#client = null;
    // Ended first: a ping pending on a dead path then fails at once instead of after `pingMs`.
    await Promise.all([client?.end().catch(() => {}), this.#pinger.stop()]);
  }

  /**
   * One ping: a `SELECT 1` on the LISTEN connection that must answer within `pingMs`. A connection
   * that fails it is dropped and replaced. Resolves either way (nothing to ping while disconnected).
   */
  async runOnce(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    await client.query('SELECT 1').catch((err: Error) => {
      this.#lost(client, err);
      void client.end().catch(() => {}); // with the ping still pending, end() drops the socket
    });
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#connectionString, application_name: this.#applicationName,
      connectionTimeoutMillis: this.#pingMs, query_timeout: this.#pingMs,
    });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('listener connection ended')));
    client.on('notification', (n) => this.emit('notification', n.channel as Channel, n.payload ?? ''));
    try {
      await client.connect();
      await client.query(CHANNELS.map((c) => `LISTEN ${c}`).join('; '));
    } catch (err) {
      client.removeAllListeners('end');
      // Retry first, and never wait for this end: a connect that timed out has its socket destroyed
      // already, and end() would wait for an 'end' that has come and gone.
      this.#lost(client, err as Error);
      void client.end().catch(() => {});
      throw err;
    }
    if (this.#stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#retryMs = 50;
    this.#ready = Promise.resolve();
    this.emit('connected');
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#stopped || (this.#client && this.#client !== client)) return;
    this.#client = null;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#stopped) this.#connect().catch(() => {});
    }, this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, 2000);
  }
}
