#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { LroError } from '../lro/errors.js';
import { startCommand } from './start.js';
import { workerCommand } from './worker.js';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
};

const program = new Command('lro').description('long-running operations on Postgres');

program
  .command('migrate')
  .description('apply the numbered migrations in sql/ to DATABASE_URL (safe to run from many processes)')
  .action(async () => {
    const { DATABASE_URL } = loadConfig();
    if (!DATABASE_URL) throw new LroError('invalid_input', 'DATABASE_URL is not set');
    const result = await migrate(DATABASE_URL);
    console.log(result.applied.length ? `applied ${result.applied.join(', ')}` : `up to date (version ${result.current})`);
  });

program
  .command('start')
  .description('the demo: embedded Postgres unless DATABASE_URL is set, workers, and a few demo ops with progress')
  .option('--demo-ops <n>', 'demo ops to create', int, 3)
  .option('--exit-when-done', 'stop once the demo ops are finished', false)
  .action((o) => startCommand(loadConfig(), { demoOps: o.demoOps, exitWhenDone: o.exitWhenDone }));

program
  .command('worker')
  .description('run worker pools and maintenance against DATABASE_URL until SIGTERM/SIGINT')
  .option('--routing <routing...>', 'routings served: hub and/or host:<id>', ['hub'])
  .option('--concurrency <n>', 'handlers at once per pool', int)
  .option('--pools <n>', 'worker pools in this process', int, 1)
  .option('--no-maintenance', 'do not run rescue and expiry in this process')
  .action((o) => workerCommand(loadConfig(), o));

program.parseAsync().catch((err: unknown) => {
  // Errors the user can act on get their message; anything else too, but never a stack trace.
  console.error(`lro: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = err instanceof LroError ? 2 : 1;
});
