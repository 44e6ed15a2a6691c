import { EventEmitter } from 'node:events';
import pg from 'pg';
import { retry } from '../shared/backoff.js';
import { RETRY } from '../shared/defaults.js';
import { defaultLogger, type Logger } from './log.js';
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
 * itself (`retry` with `RETRY.connection`, until stopped) when the server ends it, and says so with
 * `connected`. A LISTEN connection only ever receives, so a path that silently drops its packets
 * would never show: it is pinged every `pingMs` (`runOnce()`, one ping) and replaced when a ping (or
 * a connect) gets no answer within `pingMs`.
 * Nothing starts in the constructor: `start()` connects, `stop()` ends it all; both idempotent.
 */
export class PgListener extends EventEmitter<ListenerEvents> {
  readonly #connectionString: string;
  readonly #applicationName: string;
  readonly #pingMs: number;
  readonly #pinger: Ticker;
  readonly #log: Logger;
  /** From `start()` to `stop()`: its signal ends the reconnecting. */
  #ac: AbortController | null = null;
  #client: pg.Client | null = null;
  #ready: Promise<void> | null = null;
  #reconnecting: Promise<void> | null = null;

  /**
   * @param opts.pingMs how often the connection is checked, and how long a check may take. @default 15000
   * @param opts.log where lost connections and reconnects are reported. @default defaultLogger()
   */
  constructor(opts: { connectionString: string; applicationName?: string; pingMs?: number; log?: Logger }) {
    super();
    this.setMaxListeners(0);
    this.#connectionString = opts.connectionString;
    this.#applicationName = opts.applicationName ?? 'lro-listener';
    this.#pingMs = opts.pingMs ?? 15_000;
    this.#log = (opts.log ?? defaultLogger()).child({ component: 'listener' });
    this.#pinger = new Ticker(() => this.runOnce(), {
      intervalMs: this.#pingMs,
      onError: (err) => this.#log.error({ err }, 'listener ping failed'),
    });
  }

  /**
   * Connects and listens; resolves once the first connection listens. When that first connect fails,
   * the returned promise rejects and reconnecting goes on in the background. Idempotent.
   */
  start(): Promise<void> {
    if (this.#ac) return this.#ready ?? Promise.resolve();
    const ac = (this.#ac = new AbortController());
    this.#pinger.start();
    this.#ready = this.#connect(ac.signal).catch((err: Error) => {
      this.#log.warn({ err }, 'listener could not connect; retrying');
      this.#error(err);
      this.#reconnect();
      throw err;
    });
    return this.#ready;
  }

  /** Ends the connection, the pings and any reconnecting, and waits for them. Idempotent. */
  async stop(): Promise<void> {
    this.#ac?.abort();
    this.#ac = null;
    const client = this.#client;
    this.#client = null;
    // Ended first: a ping pending on a dead path then fails at once instead of after `pingMs`.
    await Promise.all([client?.end().catch(() => {}), this.#pinger.stop(), this.#reconnecting]);
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

  /** One connect: listens on every channel, or throws (the connection closed). */
  async #connect(signal: AbortSignal): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#connectionString,
      application_name: this.#applicationName,
      connectionTimeoutMillis: this.#pingMs,
      query_timeout: this.#pingMs,
    });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('listener connection ended')));
    client.on('notification', (n) => this.emit('notification', n.channel as Channel, n.payload ?? ''));
    try {
      // A stop does not wait for a connect in flight (it may hang until `pingMs`): the connect is left behind, ended.
      await untilAborted(
        (async () => {
          await client.connect();
          await client.query(CHANNELS.map((c) => `LISTEN ${c}`).join('; '));
        })(),
        signal,
      );
    } catch (err) {
      client.removeAllListeners('end');
      // Never wait for this end: a connect that timed out has its socket destroyed already, and
      // end() would wait for an 'end' that has come and gone (and a connect that end() interrupts never settles).
      void client.end().catch(() => {});
      if (signal.aborted) return; // stopped while connecting: not a failure
      throw err;
    }
    if (signal.aborted) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#ready = Promise.resolve();
    this.#log.debug('listener connected');
    this.emit('connected');
  }

  /** The current connection failed: drop it and reconnect. */
  #lost(client: pg.Client, err: Error): void {
    if (!this.#ac || client !== this.#client) return;
    this.#client = null;
    this.#log.warn({ err }, 'listener connection lost; reconnecting');
    this.#error(err);
    this.#reconnect();
  }

  /** Reconnects (one loop at a time) until a connection listens or `stop()`. */
  #reconnect(): void {
    const signal = this.#ac?.signal;
    if (!signal || this.#reconnecting) return;
    this.#reconnecting = retry(() => this.#connect(signal), {
      backoff: RETRY.connection,
      signal,
      onRetry: (err, attempt, delayMs) => {
        // The first failure and every tenth at warn: an outage is heard without a line per retry.
        this.#log[attempt % 10 === 1 ? 'warn' : 'debug']({ err, attempt, delay_ms: delayMs }, 'listener reconnect failed');
        this.#error(err as Error);
      },
    })
      .catch(() => {}) // only a stop ends it
      .finally(() => {
        this.#reconnecting = null;
        if (this.#ac && !this.#client) this.#reconnect(); // lost again before this loop had ended
      });
  }

  #error(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** `p`, or the signal's reason as soon as it aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
