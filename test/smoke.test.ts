import { afterAll, describe, expect, it } from 'vitest';
import { Lro } from '../src/lro/engine.js';
import { createTestDatabase } from './helpers/db.js';

const url = await createTestDatabase();
const lro = new Lro({ connectionString: url });
afterAll(() => lro.close());

describe('smoke', () => {
  it('runs a demo op to success', async () => {
    const pool = lro.workerPool({ concurrency: 2, heartbeatS: 1, summaryIntervalS: 1 });
    await pool.start();
    const { op } = await lro.store.create({ kind: 'demo', scope: { type: 'hub' }, input: { steps: 2, step_ms: 5 } });
    const done = await lro.wait(op.op_id, 10_000);
    expect(done.status).toBe('succeeded');
    expect(done.result).toEqual({ steps_done: 6 });
  });
});
