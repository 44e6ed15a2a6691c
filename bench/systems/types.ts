/** What the benchmark needs from each queue under test. */
export interface QueueSystem {
  name: string;
  /** Installs its schema into the fresh database at `url`. */
  setup(url: string): Promise<void>;
  /** Starts workers with total concurrency `concurrency`; each handler calls `hooks.started(payload.seq)`. */
  start(concurrency: number, hooks: Hooks): Promise<void>;
  enqueueBulk(n: number): Promise<void>;
  /** Enqueues one job carrying `seq`; returns its id. */
  enqueueOne(seq: number): Promise<string>;
  /** Resolves when job `id` is finished as a waiting caller would learn it; null when the system has no such call. */
  waitDone: ((id: string) => Promise<void>) | null;
  /** Jobs not yet finished. */
  pending(): Promise<number>;
  stop(): Promise<void>;
}

export interface Hooks {
  started(seq: number | undefined): void;
  finished(seq: number | undefined): void;
}

/** Jobs per bulk enqueue call, in every system (issue 10 compares bulk creates 1,000 a call). */
export const BULK_BATCH = 1000;
