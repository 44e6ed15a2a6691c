import { LeaseLostError } from '../lro/errors.js';
import type { Db } from '../lro/sql/operations.js';
import * as sql from '../lro/sql/operations.js';

/**
 * The statements a worker needs, bound to a database. The loops receive these as functions and hold
 * no SQL themselves (tests can wrap them).
 */
export function workerOps(db: Db) {
  return {
    claim: (p: sql.ClaimParams) => sql.operationClaim(db, p),
    heartbeat: (p: Parameters<typeof sql.operationHeartbeat>[1]) => sql.operationHeartbeat(db, p),
    completeMany: (p: Parameters<typeof sql.operationCompleteMany>[1]) => sql.operationCompleteMany(db, p),
    /** @throws LeaseLostError when the epoch is no longer current */
    fail: async (p: Parameters<typeof sql.operationFail>[1]) => (await sql.operationFail(db, p)) ?? lost(p),
    /** Null when no cancel was requested. @throws LeaseLostError when the epoch is no longer current */
    finishCanceled: async (p: Parameters<typeof sql.operationFinishCanceled>[1]) =>
      (await sql.operationFinishCanceled(db, p)) ?? ((await held(db, p)) ? null : lost(p)),
    release: (p: Parameters<typeof sql.operationRelease>[1]) => sql.operationRelease(db, p),
  };
}
export type WorkerOps = ReturnType<typeof workerOps>;

function lost(p: sql.LeaseRef): never {
  throw new LeaseLostError(p.op_id, p.epoch);
}

async function held(db: Db, p: sql.LeaseRef): Promise<boolean> {
  const op = await sql.operationGet(db, p.op_id);
  return op?.status === 'running' && op.lease_epoch === p.epoch;
}
