import { EventEmitter } from 'node:events';
import pg from 'pg';

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
 * `pingMs` and replaced when a ping (or a connect) gets no answer within `pingMs`.
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
  #ping: NodeJS.Timeout | null = null;

  /** @param opts.pingMs how often the connection is checked, and how long a check may take. @default 15000 */
  constructor(opts: { connectionString: string; applicationName?: string; pingMs?: number }) {
    super();
    this.setMaxListeners(0);
    this.#connectionString = opts.connectionString;
    this.#applicationName = opts.applicationName ?? 'lro-listener';
    this.#pingMs = opts.pingMs ?? 15_000;
  }

  /** Resolves once the first connection listens. Idempotent. */
  start(): Promise<void> {
    if (!this.#stopped) return this.#ready ?? Promise.resolve();
    this.#stopped = false;
    this.#ready = this.#connect();
    return this.#ready;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#ping) clearInterval(this.#ping);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
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
    if (this.#ping) clearInterval(this.#ping);
    this.#ping = setInterval(() => {
      client.query('SELECT 1').catch((err: Error) => {
        this.#lost(client, err);
        void client.end().catch(() => {}); // with the ping still pending, end() drops the socket
      });
    }, this.#pingMs);
    this.#ping.unref();
    this.emit('connected');
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#stopped || (this.#client && this.#client !== client)) return;
    this.#client = null;
    if (this.#ping) clearInterval(this.#ping);
    this.#ping = null;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#stopped) this.#connect().catch(() => {});
    }, this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, 2000);
  }
}
