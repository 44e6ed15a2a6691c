/** What a create is checked against and where it may run at once: the store's options, shared with access and the pools. */
import type { Operation, Scope } from '../shared/operation.js';

/** What a create would write, as the caller's rights are checked against it. */
export interface CreateTarget {
  kind: string;
  scope: Scope;
  /** Where the op would run (`hub` or `host:<id>`), as its kind computed it from the input. */
  routing: string;
  input: unknown;
  /** The other scopes the op changes (a copy's destinations, a move's host): the caller must be allowed each. */
  actsOn: Scope[];
}

export interface CreateOptions {
  createdBy?: string | null;
  parentId?: string | null;
  now?: Date | null;
  /**
   * Checks the create against the caller's rights once the kind has computed its routing, before
   * anything is written; throws (e.g. `forbidden`) to refuse. Every create and retry goes through it,
   * so a kind cannot route work where its caller may not run it. @default allows everything
   */
  authorize?: (target: CreateTarget) => Promise<void>;
  /**
   * The priorities this caller may ask for: one outside is `invalid_input`. A retry's inherited
   * priority is clamped into it (the caller did not ask for it). @default any (-1000..1000)
   */
  priorityRange?: { min: number; max: number };
}

/** A worker pool's slot held for an op being created (WorkerPool.reserve). */
export interface EagerSlot {
  owner_id: string;
  owner_type: 'hub' | 'host';
  /** The created op (null: none was created): runs it if it was inserted claimed by the slot's pool; frees the slot. */
  take(op: Operation | null): void;
}

/** A free slot of a pool that would run an op of this routing and kind, or null. */
export type SlotReserver = (routing: string, kind: string) => EagerSlot | null;
