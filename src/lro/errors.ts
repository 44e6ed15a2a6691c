/** Stable error codes; src/api maps them to HTTP statuses in one place. */
export type ErrorCode =
  | 'invalid_input'
  | 'invalid_json'
  | 'unknown_kind'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'uri_too_long'
  | 'unsupported_media_type'
  | 'headers_too_large'
  | 'request_timeout'
  | 'unavailable'
  | 'not_ready'
  | 'too_many_ops'
  | 'lease_lost'
  | 'internal';

/** The base of every error lro throws on purpose: a stable `code`, a clear message, details. */
export class LroError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, opts: { details?: unknown; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'LroError';
    this.code = code;
    this.details = opts.details;
  }
  toJSON() {
    return { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) };
  }
}

/** A class of LroError whose code is fixed: `new ForbiddenError(message, details?)`. */
function coded(code: ErrorCode) {
  return class extends LroError {
    constructor(message: string, details?: unknown) {
      super(code, message, { details });
    }
  };
}

export class InvalidInputError extends coded('invalid_input') {}
export class UnknownKindError extends LroError {
  constructor(kind: string, known: string[]) {
    super('unknown_kind', `unknown kind ${JSON.stringify(kind)}; known kinds: ${known.join(', ')}`, { details: { known } });
  }
}
/** No token, or one nobody issued (401). */
export class UnauthenticatedError extends coded('unauthenticated') {}
/** A known caller asking for what it may not do (403). */
export class ForbiddenError extends coded('forbidden') {}
/** `what` (e.g. `host <uuid>`) does not exist, or the caller may not know that it does (404). */
export class NotFoundError extends LroError {
  constructor(what: string, details?: unknown) {
    super('not_found', `${what} not found`, { details });
  }
}
/** The row `find` gave, or NotFoundError naming `what` (e.g. `host <uuid>`) when it gave none. */
export async function foundOr404<T>(find: Promise<T | null>, what: string): Promise<T> {
  const row = await find;
  if (row === null) throw new NotFoundError(what);
  return row;
}
export class ConflictError extends coded('conflict') {}
export class PayloadTooLargeError extends LroError {
  constructor(what: string, size: number, limit: number) {
    super('payload_too_large', `${what} is ${size} bytes; the limit is ${limit} bytes`, { details: { size, limit } });
  }
}
/** Not now, try again (a closing hub, a database that is down): 503. */
export class UnavailableError extends coded('unavailable') {}
/** The hub cannot serve yet (its database is down or at another schema): `/readyz` says why. */
export class NotReadyError extends coded('not_ready') {}
/** A worker wrote with a lease epoch that is no longer the op's: another worker owns it now. */
export class LeaseLostError extends LroError {
  constructor(opId: string, epoch: number) {
    super('lease_lost', `op ${opId}: lease epoch ${epoch} is no longer current; the write was refused`, {
      details: { op_id: opId, epoch },
    });
  }
}

/** `Key (host_id)=(…) is not present in table "hosts"`: the column and value a foreign key missed. */
const FK_MISSING = /^Key \(([^)]+)\)=\((.*)\) is not present in table "([^"]+)"/;

/**
 * Translates SQLSTATEs that mean "the caller's data was wrong" into typed errors at the database
 * boundary. All of class 22 (data exception) is the caller's: a malformed uuid (22P02), a NUL in
 * text (22021) or in jsonb (22P05), a value too long (22001) or out of range (22003, 22008 for
 * a timestamp past 294276 AD); so are 54000 (an index row too large for a key) and 54001 (JSON
 * nested too deep for the server's stack). A foreign key that misses (23503 on an insert: a row it
 * names was deleted after any check) is a not_found naming the column and value; one that still
 * holds (23503 on a delete) is a conflict; a duplicate (23505) is a conflict.
 */
export function translatePgError(err: unknown): unknown {
  const code = (err as { code?: string })?.code;
  if (typeof code !== 'string') return err;
  const message = (err as Error)?.message ?? String(err);
  if (code.startsWith('22') || code === '54000' || code === '54001') return new InvalidInputError(message);
  switch (code) {
    case '23514': // check_violation
    case '23502': // not_null_violation
      return new InvalidInputError(message);
    case '23505': // unique_violation
      return new ConflictError(message, { constraint: (err as { constraint?: string }).constraint });
    case '23503': {
      // foreign_key_violation
      const missing = FK_MISSING.exec((err as { detail?: string }).detail ?? '');
      if (!missing) return new ConflictError(message, { constraint: (err as { constraint?: string }).constraint });
      const [, column, value, table] = missing;
      // `hosts` → `host 6f1c… not found`: the thing that is missing, as a caller calls it.
      return new NotFoundError(`${table!.replace(/s$/, '')} ${value}`, { field: column, value });
    }
    default:
      return err;
  }
}

/** Runs a statement, translating SQLSTATEs (translatePgError) at the database boundary. */
export async function translatingPg<T>(statement: () => Promise<T>): Promise<T> {
  try {
    return await statement();
  } catch (err) {
    throw translatePgError(err);
  }
}
