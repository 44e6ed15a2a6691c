import { afterAll } from 'vitest';
import { Lro, type LroOptions } from '../../src/app/lro.js';
import { createTestDatabase } from './db.js';
import { testKinds } from './kinds.js';

/** An Lro on this file's own database, closed (and checked for leaked pools) after the file. */
export async function openTestLro(opts: Partial<LroOptions> = {}): Promise<{ lro: Lro; url: string }> {
  const url = opts.connectionString ?? (await createTestDatabase());
  const lro = new Lro({ kinds: testKinds(), ...opts, connectionString: url });
  afterAll(() => lro.close({ gracefulMs: 0 }));
  return { lro, url };
}

/** A create request for the hub scope. */
export const hubOp = (kind: string, input: unknown = {}, extra: object = {}) => ({
  kind, scope: { type: 'hub' as const }, input, ...extra,
});
