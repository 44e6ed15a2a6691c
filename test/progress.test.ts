import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PhaseBars } from '../src/cli/progress-bars.js';
import { ManualClock } from '../src/lro/clock.js';
import { LroError } from '../src/lro/errors.js';
import type { StreamEvent, StreamItem } from '../src/lro/streams/index.js';
import type { WatchEvent } from '../src/shared/events.js';
import { streamOf } from '../src/lro/streams/types.js';
import type { Operation } from '../src/shared/operation.js';
import { ProgressTracker } from '../src/workers/progress.js';
import { OpPublisher } from '../src/workers/publisher.js';
import { testKinds } from './helpers/kinds.js';
import { hubOp, openTestLro } from './helpers/lro.js';

/** A kind whose handler sends a bad event, reports what the error said, and goes on. */
const kinds = testKinds().register({
  name: 'sloppy',
  input: z.object({}),
  result: z.strictObject({ errors: z.array(z.string()) }),
  async run({ progress }) {
    const errors: string[] = [];
    const bad = [
      { phase: 'x', level: 'loud' },
      { phase: 'x', detail: 'y'.repeat(70_000) },
      { phase: 'x', detail: { n: 1n } },
      // Postgres jsonb cannot store \u0000, wherever it hides.
      { phase: 'x\u0000' },
      { phase: 'x', message: 'a\u0000b' },
      { phase: 'x', progress: { current: 1, total: 2, unit: 'u\u0000' } },
      { phase: 'x', detail: { 'k\u0000': 1 } },
      { phase: 'x', detail: { list: ['ok', '\u0000'] } },
    ];
    progress({ phase: 'x', progress: 10 });
    for (const event of bad) {
      try {
        progress(event as never);
      } catch (err) {
        errors.push(`${(err as LroError).code}: ${(err as Error).message.replace(/\s*\n\s*/g, ' ')}`);
      }
    }
    progress({ phase: 'x', progress: 100 });
    return { errors };
  },
});
const { lro, url } = await openTestLro({ kinds, stallS: 0.3 });

/** Every event of an op's stream until its terminal summary. */
async function eventsUntilTerminal(op: Operation): Promise<StreamEvent[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 15_000);
  const events: StreamEvent[] = [];
  for await (const item of lro.streams.read(streamOf(op), { signal: ac.signal }) as AsyncGenerator<StreamItem>) {
    if (item.type === 'gap') throw new Error(`unexpected gap ${item.from_seq}-${item.to_seq}`);
    events.push(item);
    if (item.type === 'summary' && ['succeeded', 'failed', 'canceled', 'expired'].includes(String(item.summary.status))) break;
  }
  clearTimeout(timer);
  return events;
}
const statuses = (events: StreamEvent[]) => events.flatMap((e) => (e.type === 'summary' ? [e.summary.status] : []));

describe('progress on the op stream', () => {
  it('a summary at every state change, progress in between with speed and ETA', async () => {
    const pool = lro.workerPool({ concurrency: 1, summaryIntervalS: 0.2 });
    await pool.start();
    const { op } = await lro.store.create(hubOp('demo', { phases: ['copy'], steps: 12, step_ms: 40 }));
    expect(op.status).toBe('running'); // an idle pool of this process starts it as it is created (eager start)
    const events = await eventsUntilTerminal(op);
    expect(statuses(events)).toEqual(['running', 'succeeded']);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.at(-1)).toMatchObject({ phase: 'copy', progress: { current: 12, total: 12, unit: 'steps' } });
    const withSpeed = progress.filter((e) => e.type === 'progress' && e.speed !== undefined);
    expect(withSpeed.length).toBeGreaterThan(0);
    for (const e of withSpeed) if (e.type === 'progress') expect(e.speed).toBeGreaterThan(5); // ~25 steps/s
    expect(progress.some((e) => e.type === 'progress' && e.eta_s !== undefined)).toBe(true);
    const final = events.at(-1)!;
    expect(final).toMatchObject({ type: 'summary', summary: { status: 'succeeded', result: { steps_done: 12 } } });
    await pool.stop();
  });

  it('retries and cancel show in the summaries', async () => {
    // The retry's backoff passes on a clock the test moves (claims compare run_at with it).
    const clock = new ManualClock();
    const { lro: timed } = await openTestLro({ connectionString: url, kinds, clock });
    const pool = timed.workerPool({ concurrency: 1, pollMs: 3_600_000 });
    await pool.start();
    const idle = once(pool, 'idle');
    const { op } = await timed.store.create(hubOp('demo', { steps: 1, step_ms: 0, fail_at_step: 1 }, { max_attempts: 2 }));
    const failing = eventsUntilTerminal(op);
    await idle; // attempt 1 failed: queued for its retry
    clock.set((await timed.store.get(op.op_id)).run_at);
    await pool.claimOnce();
    expect(statuses(await failing)).toEqual(['running', 'queued', 'running', 'failed']); // started eagerly, then retried
    await pool.stop();
    const { op: queued } = await lro.store.create(hubOp('demo'));
    await lro.store.cancel(queued.op_id);
    expect(statuses(await eventsUntilTerminal(queued))).toEqual(['queued', 'canceled']);
  });

  it('a running op with no progress for stall_s is marked stalled, on its stream and its row', async () => {
    const pool = lro.workerPool({ concurrency: 1, summaryIntervalS: 0.1, heartbeatS: 0.2 });
    await pool.start();
    const { op } = await lro.store.create(hubOp('demo', { hang: true, steps: 3, step_ms: 1 }));
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 15_000);
    let stalled: StreamEvent | undefined;
    for await (const item of lro.streams.read(streamOf(op), { signal: ac.signal })) {
      if (item.type === 'summary' && item.summary.stalled === true) {
        stalled = item;
        break;
      }
    }
    clearTimeout(timer);
    expect(stalled).toMatchObject({ type: 'summary', summary: { status: 'running', stalled: true } });
    await pool.heartbeatOnce();
    expect((await lro.store.get(op.op_id)).progress_summary).toMatchObject({ stalled: true });
    await lro.store.cancel(op.op_id);
    expect(statuses(await eventsUntilTerminal(op)).at(-1)).toBe('canceled');
    await pool.stop();
  });

  it('bad progress events throw in the handler with a clear error and leave the stream whole', async () => {
    const pool = lro.workerPool({ concurrency: 1 });
    await pool.start();
    const { op } = await lro.store.create(hubOp('sloppy'));
    const events = await eventsUntilTerminal(op);
    const done = await lro.store.get(op.op_id);
    expect((done.result as { errors: string[] }).errors).toEqual([
      expect.stringMatching(/^invalid_input: event is invalid/),
      expect.stringMatching(/^payload_too_large: event is \d+ bytes; the limit is 65536 bytes/),
      expect.stringMatching(/^invalid_input: event is not JSON-serialisable/),
      expect.stringMatching(/^invalid_input: event is invalid: ✖ must not contain a NUL character.* → at phase/),
      expect.stringMatching(/^invalid_input: event is invalid: ✖ must not contain a NUL character.* → at message/),
      expect.stringMatching(/^invalid_input: event is invalid: ✖ must not contain a NUL character.* → at progress\.unit/),
      expect.stringMatching(/^invalid_input: event\.detail \(a key\) must not contain a NUL character/),
      expect.stringMatching(/^invalid_input: event\.detail\.list\[1\] must not contain a NUL character/),
    ]);
    expect(events.filter((e) => e.type === 'progress').map((e) => e.type === 'progress' && e.progress)).toEqual([10, 100]);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    await pool.stop();
  });

  it('the phase an op failed in has an ETA while it runs and none in the failed summary, on the stream and the row', async () => {
    const pool = lro.workerPool({ concurrency: 1, summaryIntervalS: 0.1 });
    await pool.start();
    const { op } = await lro.store.create(hubOp('demo', { steps: 4, step_ms: 300, fail_at_step: 3, permanent: true }));
    const events = await eventsUntilTerminal(op);
    const running = events.filter((e) => e.type === 'progress' && e.phase === 'prepare' && e.eta_s !== undefined);
    expect(running.length).toBeGreaterThan(0); // it had one while it ran
    const final = events.at(-1)!;
    expect(final).toMatchObject({ type: 'summary', summary: { status: 'failed', progress: { phase: 'prepare' } } });
    const phasesOf = (summary: unknown) => (summary as { phases: { phase: string; eta_s?: number; speed?: number }[] }).phases;
    const streamed = phasesOf(final.type === 'summary' && final.summary.progress);
    const stored = phasesOf((await lro.store.get(op.op_id)).progress_summary);
    for (const phases of [streamed, stored]) {
      expect(phases.find((p) => p.phase === 'prepare')).toMatchObject({ speed: expect.any(Number) }); // the speed it had stays
      for (const p of phases) expect(p.eta_s).toBeUndefined();
    }
    // `lro ops watch` draws the same events: its last frame has no ETA on the bar of the phase that died.
    const out = new PassThrough();
    let drawn = '';
    out.on('data', (chunk) => {
      drawn += chunk;
    });
    const bars = new PhaseBars(out);
    for (const e of events) bars.show({ id: e.seq, event: e.type, data: e } as WatchEvent);
    bars.stop();
    const lastPrepare = drawn
      .split('\n')
      .filter((l) => l.includes('prepare'))
      .at(-1);
    expect(lastPrepare).toMatch(/prepare\s+\|.*\| 50% 2\/4 steps \d+\.\d\/s\s+step 2 of 4/);
    await pool.stop();
  });

  it("a canceled op's summaries carry no ETA, though its last heartbeat stored one", async () => {
    const pool = lro.workerPool({ concurrency: 1, summaryIntervalS: 0.1, heartbeatS: 0.2 });
    await pool.start();
    const { op } = await lro.store.create(hubOp('demo', { hang: true, steps: 4, step_ms: 300 }));
    // Once the stream carried the running phase's ETA, a heartbeat writes it to the row.
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 15_000);
    for await (const item of lro.streams.read(streamOf(op), { signal: ac.signal })) {
      if (item.type === 'progress' && item.eta_s !== undefined) break;
    }
    clearTimeout(timer);
    await pool.heartbeatOnce();
    expect(JSON.stringify((await lro.store.get(op.op_id)).progress_summary)).toContain('eta_s');
    await lro.store.cancel(op.op_id);
    const events = await eventsUntilTerminal(op);
    const final = events.at(-1)!;
    expect(final).toMatchObject({ type: 'summary', summary: { status: 'canceled', progress: { phase: 'prepare' } } });
    expect(JSON.stringify(final)).not.toContain('eta_s');
    await pool.stop();
  });

  it("a finished op's stream is dropped after the retention period", async () => {
    const { op } = await lro.store.create(hubOp('demo'));
    const canceled = await lro.store.cancel(op.op_id);
    await eventsUntilTerminal(op);
    const maintainer = lro.maintainer({ retentionS: 3600 });
    const early = await maintainer.runOnce({ now: new Date(canceled.finished_at!.getTime() + 60_000) });
    expect(early?.streams_dropped).not.toContain(op.op_id);
    const late = await maintainer.runOnce({ now: new Date(canceled.finished_at!.getTime() + 3_601_000) });
    expect(late?.streams_dropped).toContain(op.op_id);
    expect((await lro.streams.backend.history(streamOf(op), 1, 100)).events).toEqual([]);
    expect((await lro.store.get(op.op_id)).status).toBe('canceled'); // the record stays
  });
});

describe('OpPublisher under pressure', () => {
  it('replaces intermediate plain updates of a phase, keeps the last one, messages and order', async () => {
    const addr = { storage: 'persist.hub', name: `lro.${crypto.randomUUID()}` };
    const publisher = new OpPublisher(lro.streams, addr, (err) => {
      throw err;
    });
    for (let i = 1; i <= 5000; i++) {
      publisher.push({ type: 'progress', phase: 'copy', progress: { current: i, total: 5000 } });
      if (i === 2500) publisher.push({ type: 'progress', phase: 'copy', message: 'halfway', level: 'info' });
    }
    await publisher.drain();
    expect(publisher.dropped).toBeGreaterThan(0);
    const { events } = await lro.streams.backend.history(addr, 1, 10_000);
    expect(events.length).toBe(5001 - publisher.dropped);
    const currents = events.flatMap((e) => (e.type === 'progress' && typeof e.progress === 'object' ? [e.progress.current] : []));
    expect(currents.at(-1)).toBe(5000);
    expect(currents).toEqual([...currents].sort((a, b) => a - b));
    expect(events.filter((e) => e.type === 'progress' && e.message === 'halfway')).toHaveLength(1);
  });
});

describe('ProgressTracker', () => {
  it('combines phases by weight into one overall percent', () => {
    const t = new ProgressTracker();
    t.record({ phase: 'download', progress: { current: 50, total: 100, weight: 3 } });
    t.record({ phase: 'verify', progress: { current: 0, total: 10, weight: 1 } });
    expect(t.summary()?.percent).toBe(37.5);
    t.record({ phase: 'verify', progress: { current: 10, total: 10 } });
    expect(t.summary()?.percent).toBe(62.5);
  });

  it('estimates speed and ETA from samples on a pinned clock', () => {
    let now = 0;
    const t = new ProgressTracker(() => now);
    t.record({ phase: 'p', progress: { current: 0, total: 1000 } });
    now = 1000;
    const { speed, eta_s } = t.record({ phase: 'p', progress: { current: 100, total: 1000 } });
    expect(speed).toBe(100);
    expect(eta_s).toBe(9);
    now = 100_000;
    expect(t.checkStall(60_000)).toBe(true);
    expect(t.checkStall(60_000)).toBe(false); // said once
  });

  it("a phase announced at the start measures its speed from when it started running, not from the op's start", () => {
    let now = 0;
    const t = new ProgressTracker(() => now);
    for (const phase of ['prepare', 'work']) t.record({ phase, progress: { current: 0, total: 20, unit: 'steps' } });
    for (let step = 1; step <= 20; step++) {
      now = step * 1000; // prepare runs for 20 s
      t.record({ phase: 'prepare', progress: { current: step, total: 20 }, message: `step ${step}` });
    }
    now = 21_000; // work's first step, 1 s after it started and 21 s after the op did
    const first = t.record({ phase: 'work', progress: { current: 1, total: 20 }, message: 'step 1' });
    expect(first.speed).toBe(1); // not 1/21
    expect(first.eta_s).toBe(19); // not 399
    const work = t.summary()!.phases.find((p) => p.phase === 'work')!;
    expect(work).toMatchObject({ speed: 1, eta_s: 19, started_at: new Date(20_000).toISOString() });
  });

  it('only running phases have an ETA: not a finished one, not one a later phase took over from, none once ended', () => {
    let now = 0;
    const t = new ProgressTracker(() => now);
    const etas = () => Object.fromEntries(t.summary()!.phases.map((p) => [p.phase, p.eta_s]));
    for (const phase of ['a', 'b', 'c']) t.record({ phase, progress: { current: 0, total: 10 } });
    now = 1000;
    t.record({ phase: 'a', progress: { current: 5, total: 10 } });
    expect(etas()).toEqual({ a: 1, b: undefined, c: undefined }); // b and c were only announced
    now = 2000;
    expect(t.record({ phase: 'a', progress: { current: 10, total: 10 } }).eta_s).toBeUndefined(); // done
    now = 3000;
    t.record({ phase: 'b', progress: { current: 5, total: 10 } });
    expect(etas()).toEqual({ a: undefined, b: 1, c: undefined });
    now = 4000;
    t.record({ phase: 'c', progress: { current: 2, total: 10 } }); // c starts though b never reached 100 %
    expect(etas()).toEqual({ a: undefined, b: undefined, c: 4 }); // 2 steps in the 1 s since b's last event
    now = 5000;
    t.record({ phase: 'b', progress: { current: 8, total: 10 } }); // b runs beside c after all
    expect(etas()).toMatchObject({ b: expect.any(Number), c: 4 });
    t.end();
    expect(t.dirty).toBe(true);
    expect(etas()).toEqual({ a: undefined, b: undefined, c: undefined });
    expect(t.summary()!.phases.find((p) => p.phase === 'c')!.speed).toBe(2); // speeds stay
  });

  it("stall detection runs on the injected clock from the tracker's creation", () => {
    let now = 1_000_000;
    const t = new ProgressTracker(() => now);
    now += 59_000;
    expect(t.checkStall(60_000)).toBe(false);
    now += 1_000;
    expect(t.checkStall(60_000)).toBe(true);
  });
});
