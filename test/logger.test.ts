import { describe, expect, it } from 'vitest';
import { createLogger, defaultLogger } from '../src/lro/log.js';
import { workerOps } from '../src/workers/ops.js';
import { WorkerPool } from '../src/workers/pool.js';
import { remoteOf } from './fixtures/remote-kind.js';
import { hubOp, openTestLro } from './helpers/lro.js';

/** A pino logger whose lines land in `lines` (parsed). */
function capture(level = 'warn') {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level,
    destination: {
      write: (line) => {
        lines.push(JSON.parse(line));
      },
    },
  });
  return { log, lines };
}

const { log, lines } = capture('info');
const { lro } = await openTestLro({ log });

describe('one logger', () => {
  it("the default logger prints warnings (the pool's claim-loop failures are warnings)", () => {
    if (process.env.LRO_LOG_LEVEL === undefined) expect(defaultLogger().level).toBe('warn');
    expect(lro.log).toBe(log);
  });

  it("a failed claim is logged at warn with the pool's worker_id", async () => {
    const { log: poolLog, lines: poolLines } = capture('warn');
    const failing = {
      ...workerOps(lro.db),
      claim: async () => {
        throw new Error('claim refused');
      },
    };
    const pool = new WorkerPool({ ops: failing, listener: lro.listener, kinds: lro.kinds, log: poolLog, workerId: 'w-log' });
    try {
      await pool.start();
      await pool.claimOnce();
    } finally {
      await pool.stop();
    }
    expect(poolLines).toContainEqual(
      expect.objectContaining({ level: 40, worker_id: 'w-log', msg: expect.stringMatching(/claim refused/) }),
    );
  });

  it("a handler's ctx.log writes through the Lro's logger, bound to op_id, kind and worker_id", async () => {
    const pool = lro.workerPool({ concurrency: 1, workerId: 'w-ctx' });
    await pool.start();
    const { op } = await lro.store.create(hubOp('remote'));
    const { ctx, finish } = await remoteOf(op.op_id);
    ctx.log('copying the first file');
    ctx.log('disk nearly full', 'warn');
    finish();
    await lro.wait(op.op_id, 10_000);
    await pool.stop();
    const mine = lines.filter((l) => l.op_id === op.op_id);
    expect(mine).toEqual([
      expect.objectContaining({ level: 30, msg: 'copying the first file', kind: 'remote', worker_id: 'w-ctx', name: 'lro' }),
      expect.objectContaining({ level: 40, msg: 'disk nearly full', kind: 'remote', worker_id: 'w-ctx' }),
    ]);
  });

  it("an error's pg client (its connection parameters, a password among them) never reaches a log line", () => {
    const { log: l, lines: out } = capture('warn');
    const err = Object.assign(new Error('terminating connection'), {
      code: '57P01',
      client: { connectionParameters: { password: 'hunter2-secret' } },
    });
    l.warn({ err }, 'idle connection lost');
    expect(JSON.stringify(out)).not.toContain('hunter2-secret');
    expect(out[0]).toMatchObject({ err: { message: 'terminating connection', code: '57P01' } });
  });
});
