import { LOCKS } from '../lro/sql/locks.js';
import { operationExpire } from '../lro/sql/operations.js';
import { OpSweep, type OpSweepOptions } from './maintenance-service.js';

export type ExpirerOptions = OpSweepOptions;

/**
 * Expires the ops nobody claimed in time: a queued op past its `expires_at` (a create's `ttl_s`)
 * becomes expired, with the `expired` error. Any number of processes may run one: a pass holds
 * `LOCKS.expirer`, so one expires at a time. `runOnce()` returns the expired ops, or null when
 * another process holds the lock.
 */
export class Expirer extends OpSweep {
  constructor(opts: ExpirerOptions) {
    super('expirer', LOCKS.expirer, operationExpire, opts);
  }
}
