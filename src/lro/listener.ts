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
 * itself (with backoff) when the server ends it, and says so with `connected`.
 */
export class PgListener extends EventEmitter<ListenerEvents> {
  readonly #connectionString: string;
  readonly #applicationName: string;
  #client: pg.Client | null = null;
  #stopped = true;
  #retryMs = 50;
  #timer: NodeJS.Timeout | null = null;
  #ready: Promise<void> | null = null;

  constructor(opts: { connectionString: string; applicationName?: string }) {
    super();
    this.setMaxListeners(0);
    this.#connectionString = opts.connectionString;
    this.#applicationName = opts.applicationName ?? 'lro-listener';
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
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#connectionString, application_name: this.#applicationName });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('listener connection ended')));
    client.on('notification', (n) => this.emit('notification', n.channel as Channel, n.payload ?? ''));
    try {
      await client.connect();
      await client.query(CHANNELS.map((c) => `LISTEN ${c}`).join('; '));
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      this.#lost(client, err as Error);
      throw err;
    }
    if (this.#stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#retryMs = 50;
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
