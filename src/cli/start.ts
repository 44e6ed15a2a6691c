import { setTimeout as delay } from 'node:timers/promises';
import { lroOptions, type Config } from '../config.js';
import { Lro } from '../lro/engine.js';
import { isTerminal } from '../lro/status.js';
import { openDatabase } from './database.js';
import { LineBlock, renderOp } from './render.js';
import { onShutdown } from './signals.js';

/**
 * The one-command demo: a database (embedded when no DATABASE_URL), migrations, a worker pool with
 * maintenance, and a few `demo` ops whose progress is drawn in the terminal. Keeps serving until
 * SIGINT/SIGTERM.
 */
export async function startCommand(config: Config, opts: { demoOps: number; exitWhenDone: boolean }): Promise<void> {
  const log = (m: string) => console.error(m);
  const db = await openDatabase(config, log);
  const lro = await Lro.open(lroOptions(config, db.url));
  const pool = lro.workerPool({
    concurrency: config.LRO_CONCURRENCY, heartbeatS: config.LRO_HEARTBEAT_S, summaryIntervalS: 0.5,
  });
  const maintainer = lro.maintainer();
  await pool.start();
  maintainer.start();
  const stop = async (o: { gracefulMs?: number }) => {
    await lro.close(o);
    await db.stop();
  };
  log(`lro is running (worker ${pool.workerId}); creating ${opts.demoOps} demo ops`);

  const ids: string[] = [];
  for (let i = 0; i < opts.demoOps; i++) {
    const input = i === 2 ? { steps: 10, step_ms: 150, fail_at_step: 25, permanent: true } : { steps: 10 + 5 * i, step_ms: 80 };
    ids.push((await lro.store.create({ kind: 'demo', scope: { type: 'hub' }, input })).op.op_id);
  }
  const block = new LineBlock();
  for (;;) {
    const ops = await Promise.all(ids.map((id) => lro.store.get(id)));
    block.draw(ops.map(renderOp));
    if (ops.every((op) => isTerminal(op.status))) break;
    await delay(200); // a display refresh rate, not a wait for an event
  }
  if (opts.exitWhenDone) return stop({});
  log('demo ops finished; workers keep serving. Ctrl-C to stop.');
  await onShutdown(stop, log);
}
