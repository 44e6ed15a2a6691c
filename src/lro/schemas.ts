/** zod schemas for everything that enters the store from outside (HTTP, CLI, library callers). */
import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import { SCOPE_TYPES, STATUSES } from '../shared/status.js';

export const OpIdSchema = z.uuid({ message: 'must be a uuid' });

/**
 * An op id as a caller may type it: the whole uuid (`{id}`), or 8 to 32 of its hex digits from its
 * start or its end (`{hex}`, dashes left out): lists print the last 8.
 */
export const OpRefSchema = z
  .string()
  .max(36)
  .transform((text, ctx): { id: string } | { hex: string } => {
    if (OpIdSchema.safeParse(text).success) return { id: text };
    const hex = text.replaceAll('-', '').toLowerCase();
    if (/^[0-9a-f]{8,32}$/.test(hex)) return { hex };
    ctx.addIssue({ code: 'custom', message: 'must be an op id: its uuid, or at least 8 of its hex digits from its start or its end' });
    return z.NEVER;
  });

/** A NUL, or half of a surrogate pair: Postgres text and jsonb can store neither. */
// eslint-disable-next-line no-control-regex -- finding the NUL is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_MESSAGE = 'must not contain a NUL character (\\u0000) or a lone surrogate (\\ud800): Postgres cannot store them';
const storable = (s: string) => !UNSTORABLE.test(s);

/**
 * Every string a caller sends: bounded, and refused when it holds what Postgres cannot store (it
 * would come back as a 500 from the database, or a puzzling 400, instead of a clear 400 from us).
 */
export const text = (opts: { min?: number; max: number }) =>
  z
    .string()
    .min(opts.min ?? 0)
    .max(opts.max)
    .refine(storable, UNSTORABLE_MESSAGE);

/**
 * Where a JSON value holds an unstorable string or key (`input.a[2]`), or null. Iterative: a 64 KiB
 * input can nest deeper than the call stack.
 */
export function findUnstorable(value: unknown, root: string): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!storable(v)) return path;
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, `${path}[${i}]`]));
    } else if (v && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        if (!storable(key)) return `${path} (a key)`;
        stack.push([item, `${path}.${key}`]);
      }
    }
  }
  return null;
}

/** Refuses a JSON value that jsonb cannot store (a NUL or a lone surrogate anywhere, keys included). */
export function assertStorable(value: unknown, what: string): void {
  const at = findUnstorable(value, what);
  if (at) throw new InvalidInputError(bounded(`${at} ${UNSTORABLE_MESSAGE}`));
}

/**
 * A stream position from a caller (`from_seq`, `Last-Event-ID`): decimal digits only, and a safe
 * integer, so it fits both JavaScript and Postgres bigint (`1e19` or 23 digits are refused, not
 * clamped: a client sending them is broken, and a 400 stops an EventSource from reconnecting).
 */
export const SeqText = z
  .string()
  .regex(/^\d{1,16}$/, 'must be a non-negative integer')
  .transform(Number)
  .pipe(z.int().min(0).max(Number.MAX_SAFE_INTEGER));

export const ScopeSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hub'), id: z.literal('hub').default('hub') }),
  z.strictObject({ type: z.enum(['project', 'account', 'host']), id: z.uuid({ message: 'scope id must be a uuid' }) }),
]);

export const CreateOpSchema = z.strictObject({
  kind: text({ min: 1, max: 63 }),
  scope: ScopeSchema,
  input: z.unknown().optional(),
  dedupe_key: text({ min: 1, max: 200 }).optional(),
  ttl_s: z
    .int()
    .min(1)
    .max(365 * 86_400)
    .optional(),
  max_attempts: z.int().min(1).max(100).optional(),
  priority: z.int().min(-1000).max(1000).optional(),
});

const statusList = z.preprocess((v) => (typeof v === 'string' ? v.split(',') : v), z.array(z.enum(STATUSES)).min(1).max(STATUSES.length));

export const ListOpsSchema = z.strictObject({
  scope_type: z.enum(SCOPE_TYPES).optional(),
  scope_id: text({ min: 1, max: 100 }).optional(),
  kind: text({ min: 1, max: 63 }).optional(),
  /** The ops a parent op made (and its retries). */
  parent_id: OpIdSchema.optional(),
  status: statusList.optional(),
  include_dismissed: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: text({ max: 200 }).optional(),
});

/** Error answers stay a few KB: 7,000 bad values (or unknown keys) once made a 2.5 MB answer. */
export const MAX_ISSUES = 20;
export const MAX_MESSAGE_CHARS = 2000;
const MAX_DETAILS_CHARS = 4000;

/** `text` cut to `max` characters, saying how much was left out. */
export function bounded(text: string, max = MAX_MESSAGE_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** A zod issue with every string, list and nesting it carries cut short (`keys` may name 7,000 fields). */
function compact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return bounded(value, 200);
  if (depth > 3) return '…';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ISSUES).map((v) => compact(v, depth + 1));
    return value.length > MAX_ISSUES ? [...items, `… ${value.length - MAX_ISSUES} more`] : items;
  }
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compact(v, depth + 1)]));
  return value;
}

/** A zod failure as InvalidInputError: its first issues, compacted, within MAX_DETAILS_CHARS; the message says how many were left out. */
export function invalidInput(what: string, error: z.ZodError): InvalidInputError {
  const shown: z.core.$ZodIssue[] = [];
  let size = 0;
  for (const issue of error.issues.slice(0, MAX_ISSUES)) {
    const small = compact(issue) as z.core.$ZodIssue;
    size += JSON.stringify(small).length;
    if (shown.length > 0 && size > MAX_DETAILS_CHARS) break;
    shown.push(small);
  }
  const more = error.issues.length - shown.length;
  const suffix = more > 0 ? `\n(${shown.length} of ${error.issues.length} issues shown)` : '';
  return new InvalidInputError(`${what} is invalid: ${bounded(z.prettifyError(new z.ZodError(shown)))}${suffix}`, shown);
}

/** Parses `value` with `schema` or throws InvalidInputError naming `what` and its (first) issues. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput(what, parsed.error);
  return parsed.data;
}

/** Byte size of a JSON value, or InvalidInputError when it cannot be serialised. */
export function jsonSize(value: unknown, what: string): number {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch (err) {
    throw new InvalidInputError(`${what} is not JSON-serialisable: ${(err as Error).message}`);
  }
  return Buffer.byteLength(text ?? 'null');
}

/** 9999-12-31T23:59:59.999999Z in µs since the epoch: the newest created_at a cursor may name. */
const MAX_CURSOR_US = 253_402_300_799_999_999n;

/** Keyset cursors are opaque to callers: base64url of `<created_at in µs>.<op_id>`. */
export const cursor = {
  encode: (createdUs: string, opId: string) => Buffer.from(`${createdUs}.${opId}`).toString('base64url'),
  decode(text: string): { created_us: string; op_id: string } {
    const [us, id] = Buffer.from(text, 'base64url').toString().split('.');
    // A real created_at: 1970 to 9999 (a crafted 20-digit epoch overflowed bigint or timestamptz: a 500).
    if (!us || !/^\d{1,18}$/.test(us) || BigInt(us) > MAX_CURSOR_US || !OpIdSchema.safeParse(id).success) {
      throw new InvalidInputError('cursor is invalid: pass back the next_cursor of a previous page');
    }
    return { created_us: us, op_id: id! };
  },
};
