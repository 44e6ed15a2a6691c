import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { KindDefinition } from '../../lro/kinds.js';
import { PermanentError } from '../abort.js';

export const DemoInput = z.strictObject({
  phases: z.array(z.string().min(1).max(50)).min(1).max(20).default(['prepare', 'work', 'finish']),
  steps: z.int().min(0).max(100_000).default(10),
  step_ms: z.int().min(0).max(60_000).default(100),
  fail_at_step: z.int().min(1).optional(),
  hang: z.boolean().default(false),
  host_id: z
    .uuid()
    .transform((id) => id.toLowerCase())
    .optional(),
  /** `fail_at_step` throws a PermanentError (no retries) instead of an ordinary one. */
  permanent: z.boolean().default(false),
});
export type DemoInput = z.output<typeof DemoInput>;

export const DemoResult = z.strictObject({ steps_done: z.int() });

/**
 * The built-in `demo` kind: counts through phases with progress, for tests, benchmarks and the demo.
 * `fail_at_step` (counted across all phases from 1) throws there on every attempt; `hang` stops after
 * the first step and waits, still heartbeating, until canceled.
 */
export const demoKind: KindDefinition<DemoInput, z.output<typeof DemoResult>> = {
  name: 'demo',
  input: DemoInput,
  result: DemoResult,
  routing: (input) => (input.host_id ? `host:${input.host_id}` : 'hub'),
  maxAttempts: 3,
  async run({ input, signal, progress }) {
    const total = input.steps;
    for (const phase of input.phases) progress({ phase, progress: { current: 0, total, unit: 'steps' } });
    let done = 0;
    for (const phase of input.phases) {
      for (let step = 1; step <= total; step++) {
        if (input.step_ms > 0) await delay(input.step_ms, undefined, { signal });
        signal.throwIfAborted();
        done++;
        if (input.fail_at_step === done) {
          const message = `demo failure at step ${done}`;
          throw input.permanent ? new PermanentError(message, 'demo_failure') : Object.assign(new Error(message), { code: 'demo_failure' });
        }
        progress({ phase, progress: { current: step, total, unit: 'steps' }, message: `step ${step} of ${total}` });
        if (input.hang) {
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        }
      }
    }
    return { steps_done: done };
  },
};
