import type { Command } from 'commander';
import pg from 'pg';
import { Lro } from '../app/lro.js';
import { loadConfig, lroOptions, type Config } from '../config.js';
import { Access } from '../domain/access.js';
import { accountGet } from '../domain/sql/accounts.js';
import { HostStore } from '../domain/hosts.js';
import { ProjectStore } from '../domain/projects.js';
import { AccountBody, HostBody, Id, ProjectBody } from '../domain/schemas.js';
import { foundOr404, translatePgError } from '../lro/errors.js';
import { parseOrThrow } from '../lro/schemas.js';
import { openDatabase } from './database.js';
import { inputFlag, scopeFlag } from './flags.js';

/**
 * Runs `fn` with a pool on DATABASE_URL or the embedded database (migrated first), printing what
 * it returns as JSON on stdout (which database it used goes to stderr).
 */
async function withDb(fn: (db: pg.Pool, access: Access) => Promise<unknown>): Promise<void> {
  return withDatabase(async (url) => {
    const db = new pg.Pool({ connectionString: url, max: 2 });
    try {
      return await fn(db, new Access({ db }));
    } finally {
      await db.end();
    }
  });
}

/** Like `withDb`, with a whole Lro (its kinds, store and scheduler) on that database. */
async function withLro(fn: (lro: Lro) => Promise<unknown>): Promise<void> {
  return withDatabase(async (url, config) => {
    const lro = await Lro.open({ ...lroOptions(config, url, 'lro-admin'), poolSize: 2 });
    try {
      return await fn(lro);
    } finally {
      await lro.close();
    }
  });
}

async function withDatabase(fn: (url: string, config: Config) => Promise<unknown>): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase(config, (m) => process.stderr.write(`${m}\n`));
  try {
    const value = await fn(database.url, config);
    if (value !== undefined) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  } catch (err) {
    throw translatePgError(err); // a value the database refused is bad input (exit 2), as over HTTP
  } finally {
    await database.stop();
  }
}

function account(db: pg.Pool, id: string) {
  return foundOr404(accountGet(db, parseOrThrow(Id, id, 'account id')), `account ${id}`);
}

/** `lro admin …`: accounts, tokens, hosts, projects and collaborators, directly in the database. */
export function adminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description('accounts, tokens, hosts, projects, collaborators (DATABASE_URL, else the embedded database)');
  admin
    .command('account-create <name>')
    .description('a new account and its first API token')
    .action((name: string) =>
      withDb(async (_db, access) => {
        const { account: a, token } = await access.createAccount(parseOrThrow(AccountBody, { name }, 'account').name);
        return { ...a, token };
      }),
    );
  admin
    .command('token-create <account_id>')
    .description('another API token for an account')
    .action((id: string) =>
      withDb(async (db, access) => ({ account_id: (await account(db, id)).account_id, token: await access.issueToken(id) })),
    );
  const host = admin.command('host-create').description('a host (its admin account optional)');
  host
    .requiredOption('--name <name>', "the host's name")
    .requiredOption('--region <region>', 'its backup region (GET /v1/regions lists them)')
    .option('--admin <account_id>', 'the account that administers it (may run ops on it, and place projects there)');
  host.action((o) =>
    withDb(async (db) => {
      const body = parseOrThrow(HostBody, { name: o.name, region: o.region }, 'host');
      const admin = o.admin ? (await account(db, o.admin)).account_id : null;
      return new HostStore({ db }).create({ ...body, admin_account_id: admin }, { region: '--region' });
    }),
  );
  const project = admin
    .command('project-create')
    .description('a project owned by an account (placed on a host, with a backup region: optional)');
  project
    .requiredOption('--title <title>', "the project's title")
    .requiredOption('--owner <account_id>', 'its first collaborator')
    .option('--host <host_id>', 'the host it is placed on (default: none yet)')
    .option('--backup-region <region>', 'the backup region its backups go to (GET /v1/regions lists them)');
  project.action((o) =>
    withDb(async (db) => {
      const p = parseOrThrow(ProjectBody, { title: o.title, host_id: o.host, backup_region: o.backupRegion }, 'project');
      const owner = (await account(db, o.owner)).account_id;
      return new ProjectStore({ db }).create({ ...p, created_by: owner }, { backup_region: '--backup-region' });
    }),
  );
  admin
    .command('collaborator-add <project_id> <account_id>')
    .description('let an account use a project (read and run its ops)')
    .action((projectId: string, accountId: string) =>
      withDb(async (db) => {
        const project_id = parseOrThrow(Id, projectId, 'project id');
        await new ProjectStore({ db }).addCollaborator({ project_id, account_id: (await account(db, accountId)).account_id });
        return { project_id: projectId, account_id: accountId };
      }),
    );
  scheduleCommands(admin);
}

/** `lro admin schedule-…`: the cron schedules that create ops (run by every hub, one tick across them). */
function scheduleCommands(admin: Command): void {
  admin
    .command('schedule-list')
    .description('the schedules: name, cron, time zone, and the op each tick creates')
    .action(() => withLro(async (lro) => ({ schedules: await lro.scheduler().list() })));
  const set = admin
    .command('schedule-set <name>')
    .description('creates or replaces a schedule (e.g. --cron "0 * * * *" --kind backup-sweep)');
  set.requiredOption('--cron <expression>', 'when it ticks: a cron expression (minute hour day month weekday)');
  set.requiredOption('--kind <kind>', 'the kind of op each tick creates');
  set.option('--timezone <tz>', 'the cron is read in this IANA time zone', 'UTC');
  set.option('--input <json>', "the op's input, as JSON", '{}');
  set.option('--scope <type:id>', "the op's scope: project:<id>, account:<id>, host:<id> or hub", 'hub');
  set.action((name: string, o) =>
    withLro(async (lro) =>
      lro.scheduler().set(name, { cron: o.cron, kind: o.kind, timezone: o.timezone, input: inputFlag(o.input), scope: scopeFlag(o.scope) }),
    ),
  );
  admin
    .command('schedule-run <name>')
    .description('one tick of a schedule, now: its op (or the one of it still active)')
    .action((name: string) => withLro(async (lro) => (await lro.scheduler().tick(name)).op));
  admin
    .command('schedule-remove <name>')
    .description('removes a schedule (an op it already made runs on)')
    .action((name: string) =>
      withLro(async (lro) => {
        await lro.scheduler().remove(name);
        return { removed: name };
      }),
    );
}
