/**
 * The measurements each benchmark composes, on a system already set up (`sys.setup` done): the bulk
 * enqueue rate, a throughput run, and enqueue → start latency samples with idle workers.
 */
import { pause } from './lib.js';
import type { QueueSystem } from './systems/types.js';

/** Enqueues `jobs` no-op jobs with the system's bulk call (1,000 a call); returns jobs/s. */
export async function bulkEnqueue(sys: QueueSystem, jobs: number): Promise<number> {
  const t0 = performance.now();
  await sys.enqueueBulk(jobs);
  return jobs / ((performance.now() - t0) / 1000);
}

export interface RunOptions {
  jobs: number;
  concurrency: number;
  /** A run slower than this is cut off and rated by the jobs it finished. */
  maxMs: number;
  /** Jobs of this run not finished yet; `sys.pending` when absent. Gets how many handlers have started. */
  pending?: (started: number) => Promise<number>;
}

/**
 * Starts workers on the `jobs` already enqueued and waits until all are finished (or `maxMs`).
 * Returns jobs/s from start to the last completion, the jobs left unfinished, and how many
 * `pending` polls it made (each one transaction on the bench database).
 */
export async function runToCompletion(sys: QueueSystem, o: RunOptions): Promise<{ rate: number; left: number; polls: number }> {
  let started = 0;
  let polls = 0;
  const pending = () => (polls++, o.pending ? o.pending(started) : sys.pending());
  let allStarted!: () => void;
  const everyoneStarted = new Promise<void>((r) => {
    allStarted = r;
  });
  const t0 = performance.now();
  const deadline = t0 + o.maxMs;
  await sys.start(o.concurrency, {
    started: () => {
      if (++started === o.jobs) allStarted();
    },
    finished: () => {},
  });
  await Promise.race([everyoneStarted, pause(o.maxMs)]);
  let left = await pending();
  while (left > 0 && performance.now() < deadline) {
    await pause(10);
    left = await pending();
  }
  const seconds = (performance.now() - t0) / 1000;
  if (left > 0) console.error(`  ${sys.name}: cut off after ${seconds.toFixed(0)} s with ${left} jobs left`);
  return { rate: (o.jobs - left) / seconds, left, polls };
}

/** Hooks that `sampleLatency` reads; pass to `sys.start` before sampling. */
export function latencyHooks() {
  const started = new Map<number, (t: number) => void>();
  const finishedAt = new Map<number, number>();
  return {
    started,
    finishedAt,
    hooks: {
      started: (seq: number | undefined) => seq !== undefined && started.get(seq)?.(performance.now()),
      finished: (seq: number | undefined) => seq !== undefined && finishedAt.set(seq, performance.now()),
    },
  };
}

/**
 * With the workers started (with `h.hooks`) and idle: `samples` jobs one at a time, enqueue → the
 * handler's start, and (where the system has a wait) completion → the wait's return. Paced 5 ms apart.
 */
export async function sampleLatency(sys: QueueSystem, h: ReturnType<typeof latencyHooks>, samples: number, firstSeq = 0) {
  const startLat: number[] = [];
  const waitLat: number[] = [];
  for (let i = firstSeq; i < firstSeq + samples; i++) {
    const began = new Promise<number>((r) => h.started.set(i, r));
    const t0 = performance.now();
    const id = await sys.enqueueOne(i);
    startLat.push((await began) - t0);
    if (sys.waitDone) {
      await sys.waitDone(id);
      waitLat.push(performance.now() - h.finishedAt.get(i)!);
    }
    await pause(5);
  }
  return { startLat, waitLat };
}
