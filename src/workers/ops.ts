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
    fail: (p: Parameters<typeof sql.operationFail>[1]) => sql.operationFail(db, p),
    finishCanceled: (p: Parameters<typeof sql.operationFinishCanceled>[1]) => sql.operationFinishCanceled(db, p),
    release: (p: Parameters<typeof sql.operationRelease>[1]) => sql.operationRelease(db, p),
  };
}
export type WorkerOps = ReturnType<typeof workerOps>;
