import type { ProgressSummary } from './progress.js';
import type { ScopeType, Status } from './status.js';

/** The operation record as stored (snake_case, as the HTTP API returns it). */
export interface Operation {
  op_id: string;
  kind: string;
  scope_type: ScopeType;
  scope_id: string;
  status: Status;
  created_by: string | null;
  owner_type: 'hub' | 'host' | null;
  owner_id: string | null;
  routing: string;
  input: unknown;
  result: unknown;
  error: OpError | null;
  last_error: OpError | null;
  progress_summary: ProgressSummary | null;
  attempt: number;
  max_attempts: number;
  priority: number;
  lease_epoch: number;
  lease_s: number;
  run_at: Date;
  heartbeat_at: Date | null;
  cancel_requested_at: Date | null;
  dismissed_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
  expires_at: Date | null;
  dedupe_key: string | null;
  parent_id: string | null;
  events_dropped_at?: Date | null;
}

/** An error as kept on the record: what a person reading the op needs, never a stack trace. */
export interface OpError {
  code: string;
  message: string;
  attempt?: number;
  at?: string;
}

export interface Scope {
  type: ScopeType;
  id: string;
}

/**
 * An op id as lists show it: its last 8 hex digits, which are random. Not the first 8: op ids are
 * version-7 UUIDs, whose first 8 digits are the creation time and the same for ops made within weeks.
 */
export const shortOpId = (opId: string): string => opId.slice(-8);
