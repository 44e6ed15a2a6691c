import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { LroError } from '../lro/errors.js';
import type { Operation, Scope } from '../lro/types.js';
import { accountInsert, apiTokenAccount, apiTokenInsert, type Account } from './sql/accounts.js';
import { hostGet } from './sql/hosts.js';
import { scopesOfAccount } from './sql/projects.js';

/** Who is calling: the admin (LRO_ADMIN_TOKEN) or an account (an API token). */
export type Caller = { kind: 'admin'; account_id: null } | { kind: 'account'; account_id: string };

const hash = (token: string) => createHash('sha256').update(token).digest();

/**
 * Tokens and the read/act rules. An account reads ops in its scopes: itself, the projects it
 * collaborates on, the hosts it administers, and the ops it created; it may cancel, retry and
 * dismiss what it may read. The admin reads everything. Hub-scoped ops are the admin's.
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

  async issueToken(accountId: string): Promise<string> {
    const token = `lro_${randomBytes(24).toString('base64url')}`;
    await apiTokenInsert(this.#db, { token_hash: hash(token), account_id: accountId });
    return token;
  }

  /** The caller behind a bearer token; unauthenticated when it is missing or unknown. */
  async authenticate(token: string | undefined): Promise<Caller> {
    if (!token) throw new LroError('unauthenticated', 'missing token: send Authorization: Bearer <token>');
    const h = hash(token);
    if (this.#adminHash && timingSafeEqual(h, this.#adminHash)) return { kind: 'admin', account_id: null };
    const accountId = await apiTokenAccount(this.#db, h);
    if (!accountId) throw new LroError('unauthenticated', 'unknown token');
    return { kind: 'account', account_id: accountId };
  }

  requireAdmin(caller: Caller): void {
    if (caller.kind !== 'admin') throw new LroError('forbidden', 'only the admin token may do this');
  }

  /** The scopes a caller may read, or null for "all" (the admin). */
  async scopes(caller: Caller): Promise<{ type: string; id: string }[] | null> {
    return caller.kind === 'admin' ? null : scopesOfAccount(this.#db, caller.account_id);
  }

  async canUseScope(caller: Caller, scope: Scope): Promise<boolean> {
    const scopes = await this.scopes(caller);
    return scopes === null || scopes.some((s) => s.type === scope.type && s.id === scope.id);
  }

  /** Whether the caller may read (and so cancel, retry, dismiss) this op. */
  async canRead(caller: Caller, op: Operation): Promise<boolean> {
    if (caller.kind === 'admin' || op.created_by === caller.account_id) return true;
    return this.canUseScope(caller, { type: op.scope_type, id: op.scope_id });
  }

  async isHostAdmin(caller: Caller, hostId: string): Promise<boolean> {
    if (caller.kind === 'admin') return true;
    return (await hostGet(this.#db, hostId))?.admin_account_id === caller.account_id;
  }
}
