/** Statements on `accounts` and `api_tokens` (a token belongs to one account; only its hash is kept). */
import type { Db } from '../../lro/sql/operations.js';

export interface Account {
  account_id: string;
  name: string;
  created_at: Date;
}

export async function accountInsert(db: Db, p: { name: string }): Promise<Account> {
  const { rows } = await db.query<Account>('INSERT INTO accounts (name) VALUES ($1) RETURNING *', [p.name]);
  return rows[0]!;
}

export async function accountGet(db: Db, accountId: string): Promise<Account | null> {
  const { rows } = await db.query<Account>('SELECT * FROM accounts WHERE account_id = $1', [accountId]);
  return rows[0] ?? null;
}

export async function apiTokenInsert(db: Db, p: { token_hash: Buffer; account_id: string }): Promise<void> {
  await db.query('INSERT INTO api_tokens (token_hash, account_id) VALUES ($1, $2)', [p.token_hash, p.account_id]);
}

/** The account a token (its SHA-256) belongs to, or null. */
export async function apiTokenGetAccount(db: Db, tokenHash: Buffer): Promise<string | null> {
  const { rows } = await db.query<{ account_id: string }>('SELECT account_id FROM api_tokens WHERE token_hash = $1', [tokenHash]);
  return rows[0]?.account_id ?? null;
}
