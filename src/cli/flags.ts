/** Flags that several commands share (`lro ops`, `lro projects`, `lro admin schedule-set`), each checked before anything is sent. */
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import type { CreateOpBody } from '../client/client.js';
import { InvalidInputError, LroError } from '../lro/errors.js';
import { OpRefSchema } from '../lro/schemas.js';

/** `--input <json>`, parsed; not JSON is bad input (exit 2). */
export function inputFlag(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new LroError('invalid_json', '--input is not valid JSON');
  }
}

/** A commander parser for a whole number from `min` to `max` (a bad one is exit 2, with commander's usage line). */
export const intFlag =
  (min = 0, max?: number) =>
  (text: string): number => {
    const n = Number(text);
    if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
      throw new InvalidArgumentError(max === undefined ? 'must be a whole number' : `must be a whole number from ${min} to ${max}`);
    }
    return n;
  };

const SCOPES = 'project:<id>, account:<id>, host:<id> or hub';
const Uuid = z.uuid();

/** `--scope hub` or `--scope <type>:<id>`: one of the four scopes, its id a uuid, or a message in the CLI's words (exit 2). */
export function scopeFlag(text: string): CreateOpBody['scope'] {
  const [type, id] = text.split(/:(.*)/s);
  if (type === 'hub' && (id === undefined || id === 'hub')) return { type: 'hub' };
  if (type !== 'project' && type !== 'account' && type !== 'host')
    throw new InvalidInputError(`--scope ${text} is not a scope: give ${SCOPES}`);
  if (!Uuid.safeParse(id).success) {
    throw new InvalidInputError(
      `--scope ${text}: ${JSON.stringify(id ?? '')} is not ${type === 'account' ? 'an' : 'a'} ${type} id (a uuid)`,
    );
  }
  return { type, id: id! };
}

/** An id on the command line (`what`: project, host): its uuid, or bad input in the CLI's words (exit 2). */
export function uuidArg(text: string, what: string, flag = ''): string {
  if (Uuid.safeParse(text).success) return text;
  throw new InvalidInputError(`${flag ? `${flag} ` : ''}${JSON.stringify(text)} is not a ${what} id (a uuid)`);
}

/** An op id on the command line: its uuid, or 8+ hex digits from either end (the hub resolves those), else exit 2. */
export function opIdArg(text: string): string {
  if (OpRefSchema.safeParse(text).success) return text;
  const how = 'give its uuid, or at least 8 of its hex digits from its start or its end (lists print the last 8)';
  throw new InvalidInputError(`${JSON.stringify(text)} is not an op id: ${how}`);
}

/** `--status a,b`: known statuses, or bad input naming the ones that are not (exit 2). */
export function statusFlag(text: string, known: readonly string[]): string {
  const unknown = text.split(',').filter((s) => !known.includes(s.trim()));
  if (unknown.length)
    throw new InvalidInputError(`--status ${unknown.join(',')}: not a status; give a comma-separated list of ${known.join(',')}`);
  return text;
}

/** A snapshot id on the command line: 8 to 64 hex digits (`lro projects backups` lists them), else exit 2. */
export function snapshotArg(text: string): string {
  if (/^[0-9a-f]{8,64}$/.test(text)) return text;
  throw new InvalidInputError(
    `${JSON.stringify(text)} is not a snapshot id: give 8 to 64 of its hex digits (lro projects backups <project_id> lists them)`,
  );
}
