import type { PgListener } from './listener.js';
import { isTerminal } from './status.js';
import type { OperationStore } from './store.js';
import type { Operation } from './types.js';

/**
 * `wait(op_id, timeout)`: subscribes to the op's terminal notification before it checks the row (so
 * a transition between check and subscribe is never missed), then returns the terminal op as soon as
 * it is notified, or the op as it stands when the timeout ends.
 */
export class OperationWaiter {
  readonly #store: OperationStore;
  readonly #waiting = new Map<string, Set<() => void>>();

  constructor(opts: { store: OperationStore; listener: PgListener }) {
    this.#store = opts.store;
    opts.listener.on('notification', (channel, payload) => {
      if (channel !== 'lro_done') return;
      for (const id of payload.split(',')) this.#waiting.get(id)?.forEach((wake) => wake());
    });
    // Notifications sent while the listener was down are lost: wake everyone to re-check.
    opts.listener.on('connected', () => this.#waiting.forEach((set) => set.forEach((wake) => wake())));
  }

  async wait(opId: string, timeoutMs: number, signal?: AbortSignal): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    let woken = false;
    let wake: () => void = () => { woken = true; };
    const subscriber = () => wake();
    const set = this.#waiting.get(opId) ?? new Set();
    set.add(subscriber);
    this.#waiting.set(opId, set);
    try {
      for (;;) {
        woken = false;
        const op = await this.#store.get(opId);
        const left = deadline - Date.now();
        if (isTerminal(op.status) || left <= 0 || signal?.aborted) return op;
        if (woken) continue; // notified while we read: read again
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, left);
          signal?.addEventListener('abort', finish, { once: true });
          wake = finish;
          function finish() {
            clearTimeout(timer);
            signal?.removeEventListener('abort', finish);
            resolve();
          }
        });
        wake = () => { woken = true; };
      }
    } finally {
      set.delete(subscriber);
      if (set.size === 0) this.#waiting.delete(opId);
    }
  }
}
