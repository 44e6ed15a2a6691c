import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { BatchQueue } from './batch-queue.js';
import { ConflictError, NotFoundError, PayloadTooLargeError, translatePgError } from './errors.js';
import type { KindRegistry } from './kinds.js';
import type { OpEvents } from './op-events.js';
import { CreateOpSchema, ListOpsSchema, OpIdSchema, assertStorable, cursor, jsonSize, parseOrThrow } from './schemas.js';
import * as sql from './sql/operations.js';
import type { Operation } from './types.js';

/** Inputs larger than this are refused before anything is written. */
export const MAX_INPUT_BYTES = 64 * 1024;

export interface CreateOptions {
  createdBy?: string | null;
  parentId?: string | null;
  now?: Date | null;
}

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
  /** Concurrent creates share one INSERT (one commit), as the bench of the HTTP API showed worth it. */
  readonly #inserts: BatchQueue<sql.OperationInsertParams & { op_id: string }, Operation | null>;

  /** @param opts.events publishes a summary on the op's stream at each state change made here */
  constructor(opts: { db: pg.Pool; kinds: KindRegistry; defaultLeaseS?: number; events?: OpEvents }) {
    this.#db = opts.db;
    this.#kinds = opts.kinds;
    this.#defaultLeaseS = opts.defaultLeaseS ?? 30;
    this.#events = opts.events ?? null;
    this.#inserts = new BatchQueue(async (items) => {
      const rows = await guard(() => sql.operationInsertMany(this.#db, items));
      const byId = new Map(rows.map((op) => [op.op_id, op]));
      return items.map((item) => byId.get(item.op_id) ?? null);
    }, { maxInFlight: 3, splitOnFailure: true });
  }

  /** Creates an op, or returns the active op holding the same dedupe key (`created: false`). */
  async create(request: unknown, opts: CreateOptions = {}): Promise<{ op: Operation; created: boolean }> {
    const params = { ...this.#prepare(request, opts), op_id: randomUUID() };
    for (let tries = 0; tries < 5; tries++) {
      const op = await this.#inserts.push(params);
      if (op) {
        void this.#events?.summaries([op]);
        return { op, created: true };
      }
      const existing = await sql.operationGetActiveByDedupe(this.#db, { ...params, dedupe_key: params.dedupe_key! });
      if (existing) return { op: existing, created: false };
      // The holder of the key finished between our insert and our read: the key is free again.
    }
    throw new ConflictError(`dedupe key ${params.dedupe_key} is contended; try again`);
  }

  /**
   * Creates many ops in one statement (one notification). Dedupe conflicts are skipped. Resolves once
   * their `queued` summaries are on their streams too.
   */
  async createMany(requests: unknown[], opts: CreateOptions = {}): Promise<string[]> {
    const params = requests.map((r) => this.#prepare(r, opts));
    const ops = await guard(() => sql.operationInsertMany(this.#db, params));
    await this.#events?.summaries(ops);
    return ops.map((op) => op.op_id);
  }

  async get(opId: unknown): Promise<Operation> {
    const id = parseOrThrow(OpIdSchema, opId, 'op_id');
    const op = await sql.operationGet(this.#db, id);
    if (!op) throw new NotFoundError(`op ${id}`);
    return op;
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
      op_id: id, error: { code: 'canceled', message: 'canceled by request' }, now: opts.now,
    });
    if (op) {
      void this.#events?.summaries([op]);
      return op;
    }
    const current = await this.get(id);
    if (current.status === 'canceled' || current.status === 'expired') return current;
    throw new ConflictError(`op ${id} already ${current.status}; only queued or running ops can be canceled`, {
      status: current.status,
    });
  }

  /** A new op with the same kind, scope and input, `parent_id` naming this one. */
  async retry(opId: unknown, opts: CreateOptions = {}): Promise<{ op: Operation; created: boolean }> {
    const old = await this.get(opId);
    if (!['failed', 'canceled', 'expired'].includes(old.status)) {
      throw new ConflictError(`op ${old.op_id} is ${old.status}; only failed, canceled or expired ops can be retried`, {
        status: old.status,
      });
    }
    return this.create(
      {
        kind: old.kind,
        scope: { type: old.scope_type, id: old.scope_id },
        input: old.input,
        max_attempts: old.max_attempts,
        priority: old.priority,
        ...(old.dedupe_key ? { dedupe_key: old.dedupe_key } : {}),
      },
      { ...opts, createdBy: opts.createdBy ?? old.created_by, parentId: old.op_id },
    );
  }

  /** Hides a finished op from lists. */
  async dismiss(opId: unknown, opts: { now?: Date | null } = {}): Promise<Operation> {
    const id = parseOrThrow(OpIdSchema, opId, 'op_id');
    const op = await sql.operationDismiss(this.#db, { op_id: id, now: opts.now });
    if (op) return op;
    const current = await this.get(id);
    throw new ConflictError(`op ${id} is ${current.status}; only finished ops can be dismissed`, { status: current.status });
  }

  #prepare(request: unknown, opts: CreateOptions): sql.OperationInsertParams {
    const req = parseOrThrow(CreateOpSchema, request, 'create request');
    const kind = this.#kinds.get(req.kind);
    const size = jsonSize(req.input, 'input');
    if (size > MAX_INPUT_BYTES) throw new PayloadTooLargeError('input', size, MAX_INPUT_BYTES);
    const input = this.#kinds.parseInput(req.kind, req.input);
    assertStorable(input, 'input'); // jsonb cannot hold U+0000 or a lone surrogate, whatever the kind's schema allowed
    const scope = { type: req.scope.type, id: req.scope.id };
    return {
      kind: req.kind,
      scope_type: scope.type,
      scope_id: scope.id,
      routing: kind.routing?.(input, scope) ?? 'hub',
      input,
      created_by: opts.createdBy ?? null,
      max_attempts: req.max_attempts ?? kind.maxAttempts ?? 3,
      lease_s: kind.leaseS ?? this.#defaultLeaseS,
      priority: req.priority ?? 0,
      dedupe_key: req.dedupe_key ?? null,
      parent_id: opts.parentId ?? null,
      ttl_s: req.ttl_s ?? null,
      now: opts.now ?? null,
    };
  }
}

/** Runs a statement, translating SQLSTATEs of bad data into typed errors. */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translatePgError(err);
  }
}
