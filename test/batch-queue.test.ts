import { describe, expect, it } from 'vitest';
import { BatchQueue } from '../src/lro/batch-queue.js';

const fast = { baseMs: 1, maxMs: 2 };

describe('BatchQueue', () => {
  it('batches what arrives while a batch is in flight, in order', async () => {
    const batches: number[][] = [];
    const q = new BatchQueue(async (items: number[]) => {
      batches.push(items);
      return items.map((i) => i * 10);
    });
    const out = await Promise.all([1, 2, 3].map((i) => q.push(i)));
    expect(out).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('with retry, a failed batch runs again (the same items) until it succeeds', async () => {
    let calls = 0;
    const retried: unknown[] = [];
    const q = new BatchQueue(
      async (items: string[]) => {
        if (++calls < 4) throw new Error(`down ${calls}`);
        return items;
      },
      { retry: { backoff: fast, onRetry: (err) => retried.push((err as Error).message) } },
    );
    expect(await q.push('a')).toBe('a');
    expect(retried).toEqual(['down 1', 'down 2', 'down 3']);
  });

  it('a fatal error is not retried: the batch fails, onFailure hears it once, clear() drops what waits', async () => {
    const failures: [string, string[]][] = [];
    let cleared = -1;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const q: BatchQueue<string, string> = new BatchQueue(
      async () => {
        await gate;
        throw Object.assign(new Error('stale'), { fatal: true });
      },
      {
        retry: { backoff: fast, fatal: (err) => (err as { fatal?: boolean }).fatal === true },
        onFailure: (err, items) => {
          failures.push([(err as Error).message, items]);
          cleared = q.clear();
        },
      },
    );
    q.add('a');
    q.add('b');
    q.add('c');
    expect(q.pending).toBe(2); // b and c wait behind a
    release();
    await q.drain();
    expect(failures).toEqual([['stale', ['a']]]);
    expect(cleared).toBe(2);
  });

  it('giveUpAfterMs ends the retries of a batch that keeps failing', async () => {
    let calls = 0;
    const q = new BatchQueue(
      async () => {
        calls++;
        throw new Error('gone');
      },
      { retry: { backoff: fast, giveUpAfterMs: 30 } },
    );
    await expect(q.push(1)).rejects.toThrow('gone');
    expect(calls).toBeGreaterThan(1);
  });

  it('replaceLast swaps the newest queued match; the replaced caller gets the new outcome', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: string[][] = [];
    const q = new BatchQueue(async (items: string[]) => {
      await gate;
      seen.push(items);
      return items;
    });
    void q.push('first');
    const a1 = q.push('a1');
    q.add('b1');
    expect(q.replaceLast((i) => i.startsWith('a'), 'a2')).toBe(true);
    expect(q.replaceLast((i) => i.startsWith('z'), 'z2')).toBe(false);
    release();
    expect(await a1).toBe('a2');
    expect(seen).toEqual([['first'], ['a2', 'b1']]);
  });
});
