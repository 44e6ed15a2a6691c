/**
 * The package entry point (`import { Lro } from 'lro'`): the engine, its kinds, migrations, the HTTP
 * client, time and logging, and the types that go with them. Compiled to `dist/index.js` + `.d.ts`.
 */
export { Lro, defaultKinds, type LroOptions } from './app/lro.js';
export { KindRegistry, type KindDefinition, type HandlerContext } from './lro/kinds.js';
export { migrate, migrationStatus, type MigrationResult, type MigrationStatus } from './db/migrate.js';
export { LroClient, LroApiError, type CreateOpBody, type ListQuery, type WatchEvent } from './client/client.js';
export { ManualClock, systemClock, type Clock } from './lro/clock.js';
export { createLogger, silentLogger, type Logger } from './lro/log.js';
export {
  LroError,
  InvalidInputError,
  UnknownKindError,
  NotFoundError,
  ConflictError,
  PayloadTooLargeError,
  LeaseLostError,
  type ErrorCode,
} from './lro/errors.js';
export { TooManyOpsError } from './lro/store.js';
export type { CreateTarget, CreateOptions } from './lro/create-options.js';
export { ProgressStreams, openNatsStreams, streamOf, type StreamItem, type StreamEvent } from './lro/streams/index.js';
export type { WorkerPool, WorkerPoolOptions } from './workers/pool.js';
export type { Maintainer, MaintenanceReport } from './workers/maintenance.js';
export { STATUS, STATUSES, TERMINAL, isTerminal, type Status, type ScopeType } from './shared/status.js';
export type { Operation, OpError, Scope } from './shared/operation.js';
export type { ProgressEvent, PhaseSummary, ProgressSummary } from './shared/progress.js';
export { DEFAULTS } from './shared/defaults.js';
