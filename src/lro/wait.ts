import { LroError } from './errors.js';
import type { PgListener } from './listener.js';
import { isTerminal } from '../shared/status.js';
import type { OperationStore } from './store.js';
import type { Operation } from '../shared/operation.js';
import { systemClock, type Clock } from './clock.js';
import { backoffMs } from '../shared/backoff.js';
import { RETRY } from '../shared/defaults.js';

/**
 * `wait(op_id, timeout)`: subscribes to the op's terminal notification before it checks the row (so
 * a transition between check and subscribe is never missed), then returns the terminal op as soon as
 * it is notified, or the op as it stands when the timeout ends.
 */
export class OperationWaiter {
  readonly #store: OperationStore;
  readonly #clock: Clock;
  readonly #waiting = new Map<string, Set<() => void>>();
  /**
   * Reads in flight: many waiters of one op (an SSE fan-out) woken together share one query. A waiter
   * joins only a read that began after its own last subscribe or wake-up (`#tick` orders them), so
   * sharing never hands it a row older than the news it was woken for.
   */
  readonly #reads = new Map<string, { tick: number; op: Promise<Operation> }>();
  #tick = 0;

  /** @param opts.clock where the timeout's deadline is measured @default systemClock */
  constructor(opts: { store: OperationStore; listener: PgListener; clock?: Clock }) {
    this.#store = opts.store;
    this.#clock = opts.clock ?? systemClock;
    opts.listener.on('notification', (channel, payload) => {
      if (channel !== 'lro_done') return;
      for (const id of payload.split(',')) this.#waiting.get(id)?.forEach((wake) => wake());
    });
    // Notifications sent while the listener was down are lost: wake everyone to re-check.
    opts.listener.on('connected', () => this.#waiting.forEach((set) => set.forEach((wake) => wake())));
  }

  async wait(opId: string, timeoutMs: number, signal?: AbortSignal): Promise<Operation> {
    const deadline = this.#clock.now() + timeoutMs;
    // Also true once a pause as long as the time left has ended: a clock that does not move (a test's)
    // still lets a wait time out.
    let timedOut = false;
    let woken = false;
    let wake: () => void = () => {
      woken = true;
    };
    let mark = ++this.#tick;
    const subscriber = () => {
      mark = ++this.#tick;
      wake();
    };
    const set = this.#waiting.get(opId) ?? new Set();
    set.add(subscriber);
    this.#waiting.set(opId, set);
    let failedReads = 0;
    try {
      for (;;) {
        woken = false;
        let op: Operation | null = null;
        try {
          op = await this.#read(opId, mark);
          failedReads = 0;
        } catch (err) {
          // The database is away (a restart, a failover): keep waiting and read again, woken early by
          // the listener's reconnect. Not found, or still failing at the deadline, is the caller's.
          if (err instanceof LroError || timedOut || this.#clock.now() >= deadline || signal?.aborted) throw err;
        }
        const left = deadline - this.#clock.now();
        if (op && (isTerminal(op.status) || timedOut || left <= 0 || signal?.aborted)) return op;
        if (woken) continue; // notified while we read: read again
        const pause = op ? left : Math.min(left, backoffMs(++failedReads, RETRY.connection));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timedOut ||= pause === left;
            finish();
          }, pause);
          signal?.addEventListener('abort', finish, { once: true });
          wake = finish;
          function finish() {
            clearTimeout(timer);
            signal?.removeEventListener('abort', finish);
            resolve();
          }
        });
        wake = () => {
          woken = true;
        };
      }
    } finally {
      set.delete(subscriber);
      if (set.size === 0) this.#waiting.delete(opId);
    }
  }

  #read(opId: string, after: number): Promise<Operation> {
    const current = this.#reads.get(opId);
    if (current && current.tick > after) return current.op;
    const entry = { tick: ++this.#tick, op: this.#store.get(opId) };
    this.#reads.set(opId, entry);
    const forget = () => {
      if (this.#reads.get(opId) === entry) this.#reads.delete(opId);
    };
    entry.op.then(forget, forget);
    return entry.op;
  }
}
