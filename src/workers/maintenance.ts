import { defaultLogger } from '../lro/log.js';
import type { OpEvents } from '../lro/op-events.js';
import type { Service } from '../lro/service.js';
import { Expirer } from './expirer.js';
import type { MaintenanceServiceOptions } from './maintenance-service.js';
import { Rescuer } from './rescuer.js';
import { StreamRetention } from './stream-retention.js';

export interface MaintenanceReport {
  rescued: { op_id: string; status: string }[];
  expired: string[];
  /** Ops whose event streams were dropped after the retention period. */
  streams_dropped: string[];
  /** Events dropped for being older than their stream's `max_age_s`. */
  events_aged_out: number;
}

export interface MaintainerOptions extends MaintenanceServiceOptions {
  /** Publishes summaries for the ops a pass changes; their streams get retention. @default none (no streams) */
  events?: OpEvents;
  /** How long a finished op's stream is kept (seconds). @default DEFAULTS.retentionS */
  retentionS?: number;
}

/**
 * The three maintenance services of a process, started and stopped together: the `Rescuer`, the
 * `Expirer` and, when there are streams, `StreamRetention`. Each runs on its own interval under its
 * own advisory lock, so any number of hubs may run a maintainer. Tests drive `runOnce`.
 */
export class Maintainer implements Service {
  readonly rescuer: Rescuer;
  readonly expirer: Expirer;
  readonly retention: StreamRetention | null;
  readonly #services: Service[];

  constructor(opts: MaintainerOptions) {
    const shared = { ...opts, log: opts.log ?? defaultLogger() };
    this.rescuer = new Rescuer(shared);
    this.expirer = new Expirer(shared);
    this.retention = opts.events ? new StreamRetention({ ...shared, streams: opts.events.streams }) : null;
    this.#services = [this.rescuer, this.expirer, ...(this.retention ? [this.retention] : [])];
  }

  start(): void {
    for (const s of this.#services) void s.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#services.map((s) => s.stop()));
  }

  /**
   * One pass of each service in turn (rescue, expiry, retention), at `now` if given. A pass whose lock
   * another process holds counts as having done nothing; null when all of them were held elsewhere.
   */
  async runOnce(opts: { now?: Date } = {}): Promise<MaintenanceReport | null> {
    const rescued = await this.rescuer.runOnce(opts);
    const expired = await this.expirer.runOnce(opts);
    const retained = await this.retention?.runOnce(opts);
    if (!rescued && !expired && !retained) return null;
    return {
      rescued: (rescued ?? []).map((op) => ({ op_id: op.op_id, status: op.status })),
      expired: (expired ?? []).map((op) => op.op_id),
      streams_dropped: retained?.streams_dropped ?? [],
      events_aged_out: retained?.events_aged_out ?? 0,
    };
  }
}
