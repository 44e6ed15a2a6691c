#!/usr/bin/env node
// Start-up time matters here (`lro --help`, `lro ops get` in a script loop): this module loads only
// commander, the configuration, the HTTP client and the ops and projects commands. The commands that need pg,
// Fastify, NATS or the embedded Postgres import them in their actions (bench/startup.ts measures it).
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { LroApiError } from '../client/client.js';
import { loadConfig } from '../config.js';
import { EXIT, EXIT_HELP, exitForError } from './exit-codes.js';
import { intFlag } from './flags.js';
import { opsCommands } from './ops.js';
import { projectsCommands } from './projects.js';

// Output piped into `tee` or `head` that has gone (a Ctrl-C reaches the whole pipeline): lro goes on
// stopping in order instead of dying of EPIPE mid-drain with the embedded database still up.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

const int = intFlag(0);
// src/cli/main.ts and dist/cli/main.js alike sit two folders below package.json.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('lro')
  .description('long-running operations on Postgres')
  .version(version, '-V, --version', "print lro's version")
  .helpOption('-h, --help', 'show help for a command')
  .addHelpText('after', EXIT_HELP)
  // Usage errors exit with EXIT.usage, below, instead of commander's 1 (set first: subcommands inherit it).
  .exitOverride();

program
  .command('migrate')
  .description('apply the numbered migrations in sql/ to DATABASE_URL, else the embedded database (safe to run from many processes)')
  .action(async () => {
    const [{ openDatabase }, { migrate }] = await Promise.all([import('./database.js'), import('../db/migrate.js')]);
    const config = loadConfig();
    const log = (await import('./logger.js')).cliLogger(config);
    const db = await openDatabase(config, (m) => log.info(m), { migrate: false });
    try {
      const result = await migrate(db.url);
      console.log(result.applied.length ? `applied ${result.applied.join(', ')}` : `up to date (version ${result.current})`);
    } finally {
      await db.stop();
    }
  });

program
  .command('start')
  .description('the demo: embedded Postgres unless DATABASE_URL is set, the hub with two hosts, a demo token, demo ops with progress')
  .option('--demo-ops <n>', 'demo ops to create', int, 3)
  .option('--exit-when-done', 'stop once the demo ops are finished', false)
  .option('--port <port>', "the hub's port (PORT, 8080; 0 picks a free one)", int)
  .action(async (o) => {
    const { startCommand } = await import('./start.js');
    return startCommand(loadConfig(), { demoOps: o.demoOps, exitWhenDone: o.exitWhenDone, port: o.port });
  });

program
  .command('worker')
  .description('run worker pools and maintenance against DATABASE_URL (else the embedded database) until SIGTERM/SIGINT')
  .option('--routing <routing...>', 'routings served: hub and/or host:<id>', ['hub'])
  .option('--concurrency <n>', 'handlers at once per pool', int)
  .option('--pools <n>', 'worker pools in this process', int, 1)
  .option('--no-maintenance', 'do not run rescue and expiry in this process')
  .action(async (o) => (await import('./daemons.js')).workerCommand(loadConfig(), o));

program
  .command('hub')
  .description('the HTTP API, hub workers and maintenance (embedded Postgres unless DATABASE_URL is set)')
  .option('--port <port>', 'port to listen on (PORT)', int)
  .option('--listen <address>', 'address to listen on', '127.0.0.1')
  .action(async (o) => {
    const config = loadConfig();
    return (await import('./daemons.js')).hubCommand(config, { port: o.port ?? config.PORT, listen: o.listen });
  });

program
  .command('host')
  .description('a host: runs the ops routed to host:<id> (DATABASE_URL, else the embedded database)')
  .requiredOption('--id <host_id>', "this host's id (lro admin host-create)")
  .option('--data-dir <dir>', 'where projects live (LRO_DATA_DIR)')
  .action(async (o) => {
    const config = loadConfig();
    return (await import('./daemons.js')).hostCommand(config, { id: o.id, dataDir: o.dataDir ?? config.LRO_DATA_DIR });
  });

opsCommands(program);
projectsCommands(program);
// `lro admin …` needs pg and the domain layer: its module loads only when `admin` is on the command
// line (`lro admin --help`, `lro help admin` included); otherwise `lro --help` lists it from this line.
if (process.argv.slice(2).includes('admin')) (await import('./admin.js')).adminCommands(program);
else program.command('admin').description('accounts, tokens, hosts, projects, collaborators (DATABASE_URL, else the embedded database)');

program.parseAsync().catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Commander has printed the message (or the help, or the version, which exit 0).
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return;
  }
  // Errors the user can act on get their message; anything else too, but never a stack trace.
  const hint = err instanceof LroApiError && err.code === 'unreachable' ? '; set LRO_URL (or pass --url)' : '';
  console.error(`lro: ${err instanceof Error ? err.message : String(err)}${hint}`);
  process.exitCode = exitForError(err);
});
