/** zod schemas for everything that enters the store from outside (HTTP, CLI, library callers). */
import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import { SCOPE_TYPES, STATUSES } from './status.js';

export const OpIdSchema = z.uuid({ message: 'must be a uuid' });

export const ScopeSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hub'), id: z.literal('hub').default('hub') }),
  z.strictObject({ type: z.enum(['project', 'account', 'host']), id: z.uuid({ message: 'scope id must be a uuid' }) }),
]);

export const CreateOpSchema = z.strictObject({
  kind: z.string().min(1).max(63),
  scope: ScopeSchema,
  input: z.unknown().optional(),
  dedupe_key: z.string().min(1).max(200).optional(),
  ttl_s: z.int().min(1).max(365 * 86_400).optional(),
  max_attempts: z.int().min(1).max(100).optional(),
  priority: z.int().min(-1000).max(1000).optional(),
});
export type CreateOpRequest = z.input<typeof CreateOpSchema>;

const statusList = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',') : v),
  z.array(z.enum(STATUSES)).min(1),
);

export const ListOpsSchema = z.strictObject({
  scope_type: z.enum(SCOPE_TYPES).optional(),
  scope_id: z.string().min(1).max(100).optional(),
  kind: z.string().min(1).max(63).optional(),
  status: statusList.optional(),
  include_dismissed: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
export type ListOpsQuery = z.input<typeof ListOpsSchema>;

/** Parses `value` with `schema` or throws InvalidInputError naming `what` and every issue. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidInputError(`${what} is invalid: ${z.prettifyError(parsed.error)}`, parsed.error.issues);
  }
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

/** Keyset cursors are opaque to callers: base64url of `<created_at in µs>.<op_id>`. */
export const cursor = {
  encode: (createdUs: string, opId: string) => Buffer.from(`${createdUs}.${opId}`).toString('base64url'),
  decode(text: string): { created_us: string; op_id: string } {
    const [us, id] = Buffer.from(text, 'base64url').toString().split('.');
    if (!us || !/^\d{1,20}$/.test(us) || !OpIdSchema.safeParse(id).success) {
      throw new InvalidInputError('cursor is invalid: pass back the next_cursor of a previous page');
    }
    return { created_us: us, op_id: id! };
  },
};
