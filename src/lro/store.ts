import { newOpId } from './ids.js';
import type pg from 'pg';
import { BatchQueue } from './batch-queue.js';
import { ConflictError, InvalidInputError, LroError, NotFoundError, PayloadTooLargeError, translatePgError } from './errors.js';
import type { KindRegistry } from './kinds.js';
import type { OpEvents } from './op-events.js';
import { CreateOpSchema, ListOpsSchema, OpIdSchema, assertStorable, cursor, jsonSize, parseOrThrow } from './schemas.js';
import * as sql from './sql/operations.js';
import type { Operation } from '../shared/operation.js';
import { DEFAULTS } from '../shared/defaults.js';
import { isUnsuccessful } from '../shared/status.js';
import { systemClock, type Clock } from './clock.js';
import type { CreateOptions, SlotReserver } from './create-options.js';

/** Inputs larger than this are refused before anything is written. */
export const MAX_INPUT_BYTES = 64 * 1024;

/**
 * The operation store: every caller-facing transition of an op (create, get, list, cancel, retry,
 * dismiss, expire). Input is validated here with zod and the kind's schema; a transition that is not
 * allowed is a typed error, never a silent no-op.
 */
export class OperationStore {
  readonly #db: pg.Pool;
  readonly #kinds: KindRegistry;
  readonly #defaultLeaseS: number;
  readonly #events: OpEvents | null;
  readonly #clock: Clock;
  /** Concurrent creates share one INSERT (one commit), as the bench of the HTTP API showed worth it. */
  readonly #inserts: BatchQueue<sql.OperationInsertParams & { op_id: string }, Operation | null>;

  /** Active (queued + running) ops an account may have; null: no cap. */
  readonly #maxActive: number | null;
  readonly #reserve: SlotReserver | null;

  /**
   * @param opts.events publishes a summary on the op's stream at each state change made here
   * @param opts.maxActivePerAccount caps each account's (`createdBy`'s) queued + running ops; a create
   *   beyond it is `too_many_ops`. Ops without `createdBy` are never capped. @default 0 (no cap)
   * @param opts.clock the time of creates, cancels and dismissals when the caller gives none
   *   @default systemClock (the database's `now()`)
   * @param opts.reserve a free slot of a worker pool of this process that would run the op (eager
   *   start: a single create inserts it already claimed when its routing has nothing queued) @default none
   */
  constructor(opts: {
    db: pg.Pool;
    kinds: KindRegistry;
    defaultLeaseS?: number;
    events?: OpEvents;
    maxActivePerAccount?: number;
    clock?: Clock;
    reserve?: SlotReserver;
  }) {
    this.#db = opts.db;
    this.#kinds = opts.kinds;
    this.#defaultLeaseS = opts.defaultLeaseS ?? DEFAULTS.leaseS;
    this.#clock = opts.clock ?? systemClock;
    this.#events = opts.events ?? null;
    this.#maxActive = opts.maxActivePerAccount ? opts.maxActivePerAccount : null;
    this.#reserve = opts.reserve ?? null;
    this.#inserts = new BatchQueue(
      async (items) => {
        const rows = await this.#insert(items, 'row');
        const byId = new Map(rows.map((op) => [op.op_id, op]));
        return items.map((item) => byId.get(item.op_id) ?? null);
      },
      { maxInFlight: 3, splitOnFailure: true },
    );
  }

  /**
   * Creates an op, or returns the active op holding the same dedupe key (`created: false`).
   * `too_many_ops` when its account already has its cap of active ops.
   */
  async create(request: unknown, opts: CreateOptions = {}): Promise<{ op: Operation; created: boolean }> {
    const prepared = await this.#prepare(request, opts);
    const slot = this.#reserve?.(prepared.routing, prepared.kind) ?? null;
    const params = slot ? { ...prepared, owner_id: slot.owner_id, owner_type: slot.owner_type } : prepared;
    let done: { op: Operation; created: boolean } | null = null;
    try {
      return (done = await this.#create(params));
    } finally {
      slot?.take(done?.created ? done.op : null);
    }
  }

  async #create(params: sql.OperationInsertParams & { op_id: string }): Promise<{ op: Operation; created: boolean }> {
    for (let tries = 0; tries < 5; tries++) {
      const op = await this.#inserts.push(params);
      if (op) {
        void this.#events?.transitions([op], { created: true });
        return { op, created: true };
      }
      // Skipped: a dedupe key held by an active op (which answers even at the cap), or the cap.
      if (params.dedupe_key) {
        const existing = await sql.operationGetActiveByDedupe(this.#db, { ...params, dedupe_key: params.dedupe_key });
        if (existing) return { op: existing, created: false };
      }
      if (params.created_by !== null && this.#maxActive !== null) {
        const active = await sql.operationCountActiveByCreator(this.#db, { created_by: params.created_by, limit: this.#maxActive });
        if (active >= this.#maxActive) throw new TooManyOpsError(params.created_by, this.#maxActive);
      }
      // The holder of the key (or one of the account's ops) finished between our insert and our read.
    }
    throw new ConflictError(
      params.dedupe_key
        ? `dedupe key ${params.dedupe_key} is contended; try again`
        : `account ${params.created_by} is at its cap of active ops while some finish; try again`,
    );
  }

  /**
   * Creates many ops in one statement (one notification). Dedupe conflicts, and ops beyond their
   * account's cap of active ops, are skipped. Resolves once their `queued` summaries are on their
   * streams too.
   */
  async createMany(requests: unknown[], opts: CreateOptions = {}): Promise<string[]> {
    const params = await Promise.all(requests.map((r) => this.#prepare(r, opts)));
    const events = this.#events;
    if (!events || events.transitionsInSql) return (await this.#insert(params, 'op_id')).map((op) => op.op_id);
    const ops = await this.#insert(params, 'summary');
    await events.transitions(ops, { created: true });
    return ops.map((op) => op.op_id);
  }

  async get(opId: unknown): Promise<Operation> {
    const id = parseOrThrow(OpIdSchema, opId, 'op_id');
    const op = await sql.operationGet(this.#db, id);
    if (!op) throw new NotFoundError(`op ${id}`);
    return op;
  }

  /**
   * The op id a caller means by `hex` (8 to 32 hex digits from the start or the end of an id, as
   * OpRefSchema gives them), among the ops `visible` lets it see (scopes absent: all). An id that
   * matches none is not_found; one that matches several is invalid_input, saying how many, so a
   * prefix tells nothing of ops the caller may not see.
   */
  async resolveShortId(hex: string, visible: { scopes?: { type: string; id: string }[]; created_by?: string | null }): Promise<string> {
    const { op_ids, count } = await sql.operationFindByShortId(this.#db, { hex, ...visible, limit: 1 });
    if (count === 0) throw new NotFoundError(`op ${hex}`);
    if (count > 1) {
      throw new InvalidInputError(`op id ${hex} is ambiguous: ${count} ops you can see match it; give more of its digits or the whole id`, {
        matches: count,
      });
    }
    return op_ids[0]!;
  }

  /**
   * Newest first; pass `next_cursor` back as `cursor` for the next page (null on the last).
   * `scopes` limits the answer to those scopes (what a caller may read).
   */
  async list(query: unknown = {}, scopes?: { type: string; id: string }[]): Promise<{ ops: Operation[]; next_cursor: string | null }> {
    const q = parseOrThrow(ListOpsSchema, query, 'list query');
    const before = q.cursor ? cursor.decode(q.cursor) : undefined;
    const rows = await guard(() => sql.operationList(this.#db, { ...q, scopes, before, limit: q.limit + 1 }));
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    const next_cursor = rows.length > q.limit && last ? cursor.encode(last.cursor_us, last.op_id) : null;
    return { ops: page.map(({ cursor_us: _, ...op }) => op), next_cursor };
  }

  /**
   * Queued: canceled at once. Running: `cancel_requested_at` is set and the owning worker aborts the
   * handler. Canceled or expired: returned as is. Succeeded or failed: ConflictError.
   */
  async cancel(opId: unknown, opts: { now?: Date | null } = {}): Promise<Operation> {
    const id = parseOrThrow(OpIdSchema, opId, 'op_id');
    const op = await sql.operationCancel(this.#db, {
      op_id: id,
      error: { code: 'canceled', message: 'canceled by request' },
      now: opts.now ?? this.#clock.sqlNow(),
    });
    if (op) {
      void this.#events?.transitions([op]);
      return op;
    }
    const current = await this.get(id);
    if (current.status === 'canceled' || current.status === 'expired') return current;
    throw new ConflictError(`op ${id} already ${current.status}; only queued or running ops can be canceled`, {
      status: current.status,
    });
  }

  /**
   * A new op with the same kind, scope and input, `parent_id` naming this one; or, when its dedupe
   * key is now held by another active op, that op with `created: false`. `opts.authorize` checks the
   * retrying caller as for any create.
   */
  async retry(opId: unknown, opts: CreateOptions = {}): Promise<{ op: Operation; created: boolean }> {
    const old = await this.get(opId);
    if (!isUnsuccessful(old.status)) {
      const state = old.status === 'succeeded' ? 'already succeeded: there is nothing to retry' : `is ${old.status}`;
      throw new ConflictError(`op ${old.op_id} ${state}; only failed, canceled or expired ops can be retried`, {
        status: old.status,
      });
    }
    return this.create(
      {
        kind: old.kind,
        scope: { type: old.scope_type, id: old.scope_id },
        input: old.input,
        max_attempts: old.max_attempts,
        priority: clamp(old.priority, opts.priorityRange),
        ...(old.dedupe_key ? { dedupe_key: old.dedupe_key } : {}),
      },
      { ...opts, createdBy: opts.createdBy ?? old.created_by, parentId: old.op_id },
    );
  }

  /** Hides a finished op from lists. */
  async dismiss(opId: unknown, opts: { now?: Date | null } = {}): Promise<Operation> {
    const id = parseOrThrow(OpIdSchema, opId, 'op_id');
    const op = await sql.operationDismiss(this.#db, { op_id: id, now: opts.now ?? this.#clock.sqlNow() });
    if (op) return op;
    const current = await this.get(id);
    throw new ConflictError(`op ${id} is still ${current.status}; only finished ops can be dismissed (cancel it first)`, {
      status: current.status,
    });
  }

  /** Inserts, capping each account's active ops when there is a cap and an account to cap. */
  #insert<R extends 'row' | 'op_id' | 'summary'>(ops: (sql.OperationInsertParams & { op_id?: string })[], returning: R) {
    const max = this.#maxActive;
    return guard(() =>
      max !== null && ops.some((op) => op.created_by !== null)
        ? sql.operationInsertManyCapped(this.#db, ops, { max_active: max }, returning)
        : sql.operationInsertMany(this.#db, ops, returning),
    );
  }

  /**
   * Validates a create request, computes its routing and authorises it; writes nothing. The op's id
   * is drawn here, in the one object literal: spread into a copy with it, the 1,000 params of a bulk
   * create were ~4x slower to read when encoding them (an object shape the encoder's reads missed).
   */
  async #prepare(request: unknown, opts: CreateOptions): Promise<sql.OperationInsertParams & { op_id: string }> {
    const req = parseOrThrow(CreateOpSchema, request, 'create request');
    const kind = this.#kinds.get(req.kind);
    const size = jsonSize(req.input, 'input');
    if (size > MAX_INPUT_BYTES) throw new PayloadTooLargeError('input', size, MAX_INPUT_BYTES);
    const input = this.#kinds.parseInput(req.kind, req.input);
    assertStorable(input, 'input'); // jsonb cannot hold U+0000 or a lone surrogate, whatever the kind's schema allowed
    const scope = { type: req.scope.type, id: req.scope.id };
    const routing = (await kind.routing?.(input, scope)) ?? 'hub';
    await opts.authorize?.({ kind: req.kind, scope, routing, input, actsOn: kind.alsoActsOn?.(input) ?? [] });
    // Refused rather than clamped: a caller who asked for 1000 should learn it did not get it.
    const range = opts.priorityRange;
    if (range && req.priority !== undefined && (req.priority < range.min || req.priority > range.max)) {
      throw new InvalidInputError(`priority ${req.priority} is outside the range you may use, ${range.min}..${range.max}`, {
        priority: req.priority,
        min: range.min,
        max: range.max,
      });
    }
    return {
      op_id: newOpId(),
      kind: req.kind,
      scope_type: scope.type,
      scope_id: scope.id,
      routing,
      input,
      created_by: opts.createdBy ?? null,
      max_attempts: req.max_attempts ?? kind.maxAttempts ?? DEFAULTS.maxAttempts,
      lease_s: kind.leaseS ?? this.#defaultLeaseS,
      priority: req.priority ?? 0,
      dedupe_key: req.dedupe_key ?? kind.dedupeKey ?? null,
      parent_id: opts.parentId ?? null,
      ttl_s: req.ttl_s ?? null,
      now: opts.now ?? this.#clock.sqlNow() ?? null,
    };
  }
}

/** An account already has its cap of active ops (LRO_MAX_ACTIVE_PER_ACCOUNT). */
export class TooManyOpsError extends LroError {
  constructor(accountId: string, limit: number) {
    super(
      'too_many_ops',
      `account ${accountId} already has ${limit} active (queued or running) ops, its limit ` +
        '(LRO_MAX_ACTIVE_PER_ACCOUNT); wait for some to finish, or cancel some, and try again',
      { details: { limit } },
    );
  }
}

function clamp(priority: number, range?: { min: number; max: number }): number {
  return range ? Math.min(range.max, Math.max(range.min, priority)) : priority;
}

/** Runs a statement, translating SQLSTATEs of bad data into typed errors. */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translatePgError(err);
  }
}
