import { describe, expect, it } from 'vitest';
import { Lro } from '../src/app/lro.js';
import { streamOf } from '../src/lro/streams/types.js';
import { burstKind } from './fixtures/burst-kind.js';
import { createTestDatabase } from './helpers/db.js';
import { hubOp } from './helpers/lro.js';
import { testKinds } from './helpers/kinds.js';

const url = await createTestDatabase();

describe('progress never becomes one row update per event', () => {
  it('an op that emits 10,000 events updates its row at most duration/summary_interval + state changes + 2 times', async () => {
    const kinds = testKinds().register(burstKind);
    const client = new Lro({ connectionString: url, kinds, applicationName: 'lro-test-client' });
    const worker = new Lro({ connectionString: url, kinds, applicationName: 'lro-test-worker' });
    const summaryIntervalS = 0.5;
    await worker.workerPool({ concurrency: 1, summaryIntervalS, heartbeatS: 1 }).start();

    const { op } = await client.store.create(hubOp('burst', { events: 10_000, every: 100, pause_ms: 20 }));
    const done = await client.wait(op.op_id, 60_000);
    expect(done).toMatchObject({ status: 'succeeded', result: { sent: 10_000 } });
    expect(done.progress_summary).toMatchObject({ percent: 100, phase: 'burst' });
    await worker.close(); // a backend flushes its statistics when it exits

    const { rows } = await client.db
      .query(
        `SELECT pg_stat_clear_snapshot();
      SELECT n_tup_upd::int AS updates FROM pg_stat_user_tables WHERE relname = 'long_running_operations'`,
      )
      .then((r: any) => r[1]);
    const seconds = (done.finished_at!.getTime() - done.started_at!.getTime()) / 1000;
    const stateChanges = 2; // queued → running → succeeded
    const bound = Math.floor(seconds / summaryIntervalS) + stateChanges + 2;
    expect(rows[0].updates).toBeGreaterThanOrEqual(stateChanges);
    expect(rows[0].updates).toBeLessThanOrEqual(bound);

    // The stream got the events (intermediate ones may be coalesced, never the last), then the terminal summary.
    const page = await client.streams.backend.history(streamOf(done), 1, 100_000);
    const progress = page.events.filter((e) => e.type === 'progress');
    expect(progress.at(-1)).toMatchObject({ phase: 'burst', progress: { current: 10_000, total: 10_000 } });
    expect(page.events.at(-1)).toMatchObject({ type: 'summary', summary: { status: 'succeeded' } });
    const currents = progress.map((e) => (e.progress as { current: number }).current);
    expect(currents).toEqual([...currents].sort((a, b) => a - b)); // in order
    await client.close();
  });
});
