/** Flags that `lro ops create` and `lro admin schedule-set` share: an op's scope and input. */
import { LroError } from '../lro/errors.js';

/** `--input <json>`, parsed; not JSON is bad input (exit 2). */
export function inputFlag(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new LroError('invalid_json', '--input is not valid JSON');
  }
}

/** `--scope hub` or `--scope <type>:<id>`, as a scope for the API to check. */
export function scopeFlag(text: string): { type: never; id?: string } {
  const [type, id] = text.split(':');
  return { type: type as never, ...(id ? { id } : {}) };
}
