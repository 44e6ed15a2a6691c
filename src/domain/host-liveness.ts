import { systemClock, type Clock } from '../lro/clock.js';
import { defaultLogger, type Logger } from '../lro/log.js';
import { Ticker, type Service } from '../lro/service.js';
import { DEFAULTS } from '../shared/defaults.js';
import type { HostStore } from './hosts.js';

export interface HostLivenessOptions {
  /** Where the host's status is written. */
  hosts: Pick<HostStore, 'setStatus'>;
  /** The host this process runs ops for. */
  hostId: string;
  /** ms between beats. @default DEFAULTS.heartbeatS * 1000 */
  intervalMs?: number;
  /** Where a failed beat is reported (the next beat tries again). @default defaultLogger() */
  log?: Logger;
  /** `last_seen` is the database's `now()` unless a test pins it. @default systemClock */
  clock?: Clock;
}

/**
 * A host's liveness on the `hosts` table: `running` with `last_seen` renewed every interval while the
 * host serves, `off` when it stops. `start()` beats once before it returns (the host shows running as
 * soon as its workers do); `start()`/`stop()` are idempotent; `runOnce()` is one beat, for tests.
 * A failed beat is logged at error with the host id, never swallowed, and the next one tries again.
 */
export class HostLiveness implements Service {
  readonly #o: Required<Omit<HostLivenessOptions, 'intervalMs'>>;
  readonly #ticker: Ticker;
  #started = false;

  constructor(opts: HostLivenessOptions) {
    const log = (opts.log ?? defaultLogger()).child({ host_id: opts.hostId, service: 'host-liveness' });
    this.#o = { hosts: opts.hosts, hostId: opts.hostId, log, clock: opts.clock ?? systemClock };
    this.#ticker = new Ticker(() => this.runOnce(), {
      intervalMs: opts.intervalMs ?? DEFAULTS.heartbeatS * 1000,
      onError: (err) => log.error({ err }, 'host liveness: beat failed'),
    });
  }

  get running(): boolean {
    return this.#started;
  }

  /**
   * One beat: the host is seen now, and `running` unless it was taken off (`host-off`) since it
   * started. Rejects when the write fails (the host is gone, the database is down).
   */
  runOnce(): Promise<void> {
    return this.#o.hosts.setStatus(this.#o.hostId, 'running', { now: this.#o.clock.sqlNow(), keepOff: true });
  }

  /** Marks the host `running` (a failure is logged: the beats try again), then beats every interval. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    try {
      await this.#o.hosts.setStatus(this.#o.hostId, 'running', { now: this.#o.clock.sqlNow() });
    } catch (err) {
      this.#o.log.error({ err }, 'host liveness: beat failed');
    }
    if (this.#started) this.#ticker.start();
  }

  /** Stops beating, waits for a beat in flight, and marks the host `off` (a failure is logged). */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.#ticker.stop();
    try {
      await this.#o.hosts.setStatus(this.#o.hostId, 'off', { now: this.#o.clock.sqlNow() });
    } catch (err) {
      this.#o.log.error({ err }, 'host liveness: marking the host off failed');
    }
  }
}
