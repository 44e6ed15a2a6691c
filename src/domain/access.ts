import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import { ForbiddenError, UnauthenticatedError } from '../lro/errors.js';
import type { CreateOptions, CreateTarget } from '../lro/create-options.js';
import type { Operation, Scope } from '../shared/operation.js';
import { accountGet, accountInsert, apiTokenGetAccount, apiTokenInsert, type Account } from './sql/accounts.js';
import { hostGet, hostIsUsableBy } from './sql/hosts.js';
import { accountScopeList } from './sql/projects.js';

/** Who is calling: the admin (LRO_ADMIN_TOKEN) or an account (an API token). */
export type Caller = { kind: 'admin'; account_id: null } | { kind: 'account'; account_id: string };

const Uuid = z.uuid();

/** The host a `host:<uuid>` routing names, or null (`hub`, or not a host id). */
function hostOf(routing: string): string | null {
  const id = routing.startsWith('host:') ? routing.slice(5) : null;
  return id !== null && Uuid.safeParse(id).success ? id : null;
}
/** Why an account may not use a scope, for the 403 of a create. */
const NOT_YOURS = {
  project: 'you do not collaborate on that project',
  account: 'it is not your account',
  host: 'you are not its host admin',
} as const;
const hash = (token: string) => createHash('sha256').update(token).digest();

/**
 * The priorities an account may give its ops (the admin may use all of -1000..1000), so that no
 * tenant's work can jump ahead of everyone else's by asking for it.
 */
export const ACCOUNT_PRIORITY = { min: -100, max: 100 } as const;

/**
 * Tokens and the read/act rules. An account reads ops in its scopes: itself, the projects it
 * collaborates on, the hosts it administers, and the ops it created; it may cancel, retry and
 * dismiss what it may read. The admin reads everything. Hub-scoped ops are the admin's. What an
 * account may create, where it may run and at which priority is `createRules`.
 */
export class Access {
  readonly #db: pg.Pool;
  readonly #adminHash: Buffer | null;

  constructor(opts: { db: pg.Pool; adminToken?: string }) {
    this.#db = opts.db;
    this.#adminHash = opts.adminToken ? hash(opts.adminToken) : null;
  }

  /** An account and its first API token (shown once; only the hash is stored). */
  async createAccount(name: string): Promise<{ account: Account; token: string }> {
    const account = await accountInsert(this.#db, { name });
    return { account, token: await this.issueToken(account.account_id) };
  }

  /** An account, or null. */
  account(accountId: string): Promise<Account | null> {
    return accountGet(this.#db, accountId);
  }

  async issueToken(accountId: string): Promise<string> {
    const token = `lro_${randomBytes(24).toString('base64url')}`;
    await apiTokenInsert(this.#db, { token_hash: hash(token), account_id: accountId });
    return token;
  }

  /** The caller behind a bearer token; unauthenticated when it is missing or unknown. */
  async authenticate(token: string | undefined): Promise<Caller> {
    if (!token) throw new UnauthenticatedError('missing token: send Authorization: Bearer <token>');
    const h = hash(token);
    if (this.#adminHash && timingSafeEqual(h, this.#adminHash)) return { kind: 'admin', account_id: null };
    const accountId = await apiTokenGetAccount(this.#db, h);
    if (!accountId) throw new UnauthenticatedError('unknown token');
    return { kind: 'account', account_id: accountId };
  }

  requireAdmin(caller: Caller): void {
    if (caller.kind !== 'admin') throw new ForbiddenError('only the admin token may do this');
  }

  /** The scopes a caller may read, or null for "all" (the admin). */
  async scopes(caller: Caller): Promise<{ type: string; id: string }[] | null> {
    return caller.kind === 'admin' ? null : accountScopeList(this.#db, caller.account_id);
  }

  async canUseScope(caller: Caller, scope: Scope): Promise<boolean> {
    const scopes = await this.scopes(caller);
    return scopes === null || scopes.some((s) => s.type === scope.type && s.id === scope.id);
  }

  /** Whether the caller may read (and so cancel, retry, dismiss) this op. */
  async canRead(caller: Caller, op: Operation): Promise<boolean> {
    if (caller.kind === 'admin' || op.created_by === caller.account_id) return true;
    if (await this.canUseScope(caller, { type: op.scope_type, id: op.scope_id })) return true;
    // A host's admin sees (and may cancel) whatever runs on the host, whoever's scope it is in.
    const hostId = hostOf(op.routing);
    return hostId !== null && (await this.isHostAdmin(caller, hostId));
  }

  async isHostAdmin(caller: Caller, hostId: string): Promise<boolean> {
    if (caller.kind === 'admin') return true;
    return (await hostGet(this.#db, hostId))?.admin_account_id === caller.account_id;
  }

  /**
   * The create options that hold a caller to its rights, for the store's create and retry: the
   * account's priority range, and the check of the scope and of the routing the kind computed.
   * `createdBy` defaults to the caller (a retry by the admin keeps the op's creator).
   */
  createRules(caller: Caller, createdBy: string | null = caller.account_id): CreateOptions {
    if (caller.kind === 'admin') return { createdBy };
    return { createdBy, priorityRange: ACCOUNT_PRIORITY, authorize: (target) => this.authorizeCreate(caller, target) };
  }

  /**
   * An op may be created by whoever may use its scope, and run where its kind routes it: anywhere
   * for the admin; `hub` for anyone; `host:<id>` for that host's admin and the collaborators of a
   * project placed on it. A host that does not exist is refused exactly like one the caller may not
   * use, so the answer tells nothing about which host ids exist.
   */
  async authorizeCreate(caller: Caller, target: CreateTarget): Promise<void> {
    if (caller.kind === 'admin') return;
    const { scope, routing } = target;
    if (!(await this.canUseScope(caller, scope))) {
      throw new ForbiddenError(
        scope.type === 'hub'
          ? 'only the admin (LRO_ADMIN_TOKEN) may create ops in the hub scope; use a project, account or host scope'
          : `you may not create ops in ${scope.type} ${scope.id}: ${NOT_YOURS[scope.type as 'project' | 'account' | 'host']}`,
      );
    }
    // Every other scope it changes, as strictly: one refused refuses the whole request, before anything runs.
    for (const other of target.actsOn) {
      if (!(await this.canUseScope(caller, other))) {
        throw new ForbiddenError(`this ${target.kind} would change ${other.type} ${other.id}, which you may not use`, { scope: other });
      }
    }
    if (routing === 'hub') return;
    const hostId = hostOf(routing);
    // The routing must name the host exactly as hosts claim it (a lowercase uuid), not merely one Postgres casts to it.
    const usable =
      hostId !== null &&
      hostId === hostId.toLowerCase() &&
      (await hostIsUsableBy(this.#db, { host_id: hostId, account_id: caller.account_id }));
    if (!usable) {
      throw new ForbiddenError(
        `you may not run ops on host ${hostId ?? routing.replace(/^host:/, '')}: only its host admin and the collaborators ` +
          'of a project placed on it may',
        { routing },
      );
    }
  }
}
