import { report, rescueChannel, type RescueMessage } from '../lro/instruments.js';
import { LOCKS } from '../lro/sql/locks.js';
import { operationRescue } from '../lro/sql/operations.js';
import type { Operation } from '../shared/operation.js';
import { OpSweep, type OpSweepOptions } from './maintenance-service.js';

export type RescuerOptions = OpSweepOptions;

/**
 * Gives back the leases of workers that stopped heartbeating: a running op whose `heartbeat_at` is
 * more than its `lease_s` old goes back to queued under a new epoch (the dead owner can write nothing
 * more), or to failed when its attempts are used up, or to canceled when a cancel was requested.
 * Any number of processes may run one: a pass holds `LOCKS.rescuer`, so one rescues at a time.
 * `runOnce()` returns the rescued ops, or null when another process holds the lock.
 */
export class Rescuer extends OpSweep {
  constructor(opts: RescuerOptions) {
    super('rescuer', LOCKS.rescuer, operationRescue, opts);
  }

  protected override changed(ops: Operation[]): void {
    report<RescueMessage>(rescueChannel, () => ({ db: this.db, rescued: ops.map((op) => ({ kind: op.kind, status: op.status })) }));
  }
}
