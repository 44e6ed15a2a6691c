import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { natsUrl } from './helpers/binaries.js';
import { createTestDatabase } from './helpers/db.js';
import { textLines } from '../src/cli/logger.js';
import { createLogger } from '../src/lro/log.js';

const run = promisify(execFile);
const BIN = new URL('../bin/lro.js', import.meta.url).pathname;

describe('lro start', () => {
  it.each([['pg'], [natsUrl()]])('runs demo ops with terminal progress and exits cleanly (LRO_STREAMS=%s)', async (streams) => {
    const url = await createTestDatabase();
    const { stdout, stderr } = await run(process.execPath, [BIN, 'start', '--demo-ops', '3', '--exit-when-done', '--port', '0'], {
      env: { ...process.env, DATABASE_URL: url, LRO_CONCURRENCY: '3', LRO_STREAMS: streams },
    });
    expect(stderr).toContain('creating 3 demo ops');
    expect(stderr).toMatch(/lro hub at http:\/\/127\.0\.0\.1:\d+ with hosts/);
    expect(stderr).toMatch(/demo token \(account [0-9a-f-]{36}\): lro_/);
    const last = stdout.trim().split('\n').slice(-4);
    expect(last.filter((l) => / demo +succeeded +\[#{24}\] 100% finish/.test(l))).toHaveLength(2);
    expect(last.filter((l) => / demo +failed .*demo failure at step 25/.test(l))).toHaveLength(1);
    // And the demo project's backup (a few files on the first host), its bar in bytes.
    expect(
      last.filter((l) => / project-backup +succeeded +\[#{24}\] 100% backup 4\.0 MiB\/4\.0 MiB/.test(l)),
      last.join('\n'),
    ).toHaveLength(1);
    // Progress was drawn on the way, not only at the end: the hosts' ops (the first two) too, in
    // small steps (summaries every 0.5 s, like the hub's; at 2 s they sat at 0 % then jumped to 80 %).
    const lines = stdout.split('\n');
    expect(stdout).toMatch(/running +\[#*-+\] +\d+% (prepare|work|finish)/);
    for (const prefix of lines.slice(0, 2).map((l) => l.split(' ')[0]!)) {
      const seen = new Set(
        lines.filter((l) => new RegExp(`^${prefix} demo +running`).test(l)).map((l) => Number(l.match(/\] +(\d+)%/)![1])),
      );
      expect(seen.size, `${prefix}: ${[...seen].join(', ')} %`).toBeGreaterThanOrEqual(3);
      expect([...seen].some((p) => p > 0 && p < 60)).toBe(true);
    }
  });
});

describe('configuration', () => {
  it('a bad LRO_STREAMS stops the process with a clear message', async () => {
    const err = await run(process.execPath, [BIN, 'start'], { env: { ...process.env, LRO_STREAMS: 'kafka://x' } }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('LRO_STREAMS: must be "pg" or a nats:// URL');
  });
});

describe('help', () => {
  // The admin commands' module (pg, the domain layer) loads only when `admin` is on the command line.
  it('lists every command, and the admin subcommands under `lro admin --help`', async () => {
    const { stdout } = await run(process.execPath, [BIN, '--help']);
    for (const cmd of ['migrate', 'start', 'worker', 'hub', 'host', 'ops', 'admin']) expect(stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
    expect(stdout).toContain('Exit codes:');
    const admin = await run(process.execPath, [BIN, 'admin', '--help']);
    for (const cmd of ['account-create', 'token-create', 'host-create', 'project-create', 'collaborator-add', 'schedule-set'])
      expect(admin.stdout).toContain(cmd);
  });
});

describe('every command and option says what it is', () => {
  // A line of a help's Options or Commands that is only a flag or a name has no description.
  const undescribed = (help: string) =>
    help
      .split(/\n(?=\S)/)
      .filter((section) => /^(Options|Commands):/.test(section))
      .flatMap((section) => section.split('\n').slice(1))
      .filter((line) => /^ {2}\S/.test(line) && !/^ {2}\S.*\S {2,}\S/.test(line));

  it('in every help of ops, projects and admin; lro --version', async () => {
    const groups: Record<string, string[]> = {
      '': ['migrate', 'start', 'worker', 'hub', 'host', 'hosts'],
      ops: ['create', 'get', 'list', 'wait', 'cancel', 'retry', 'dismiss', 'watch'],
      projects: ['list', 'backup', 'restore', 'start', 'stop', 'move', 'copy', 'backups', 'ls'],
      admin: ['account-create', 'token-create', 'host-create', 'project-create', 'collaborator-add', 'schedule-set'],
    };
    const helps = Object.entries(groups).flatMap(([group, cmds]) =>
      [[group], ...cmds.map((c) => [group, c])].map((p) => p.filter(Boolean)),
    );
    const found = await Promise.all(
      helps.map(async (path) => ({
        path: path.join(' '),
        undescribed: undescribed((await run(process.execPath, [BIN, ...path, '--help'])).stdout),
      })),
    );
    expect(found.filter((f) => f.undescribed.length)).toEqual([]);
    const list = (await run(process.execPath, [BIN, 'ops', 'list', '--help'])).stdout;
    expect(list).toMatch(/--status <list> +only these statuses, a comma-separated list/);
    expect(list).toMatch(/--cursor <cursor> /);
    for (const cmd of ['get', 'create', 'list', 'cancel'])
      expect((await run(process.execPath, [BIN, 'ops', cmd, '--help'])).stdout, cmd).toMatch(/--json +print the hub's answer as JSON/);
    expect((await run(process.execPath, [BIN, 'ops', 'create', '--help'])).stdout).toMatch(/--max-attempts <n>[\s\S]*--priority <n>/);
    expect((await run(process.execPath, [BIN, '--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("the daemons' log", () => {
  it('is pino: text lines by default (message, then bound fields), JSON lines with LRO_LOG_FORMAT=json', async () => {
    const out: string[] = [];
    const log = createLogger({ level: 'info', destination: textLines({ write: (s: string) => out.push(s) }) });
    log.info('stopped: 0 running ops finished');
    log.child({ op_id: 'abc' }).warn({ attempt: 2 }, 'slow');
    log.debug('not at info');
    expect(out).toEqual(['stopped: 0 running ops finished\n', 'slow op_id=abc attempt=2\n']);

    const url = await createTestDatabase();
    const worker = spawn(process.execPath, [BIN, 'worker', '--concurrency', '1'], {
      env: { ...process.env, DATABASE_URL: url, LRO_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const lines: { msg: string }[] = [];
    const exited = once(worker, 'exit');
    for await (const line of createInterface({ input: worker.stderr! })) {
      lines.push(JSON.parse(line));
      if (/^lro worker: /.test(lines.at(-1)!.msg)) worker.kill('SIGTERM'); // it is serving: stop it
    }
    expect((await exited)[0]).toBe(0);
    expect(lines.map((l) => l.msg)).toContain('lro worker: 1 pool(s) serving hub');
    expect(lines.at(-1)).toMatchObject({ level: 30, name: 'lro', msg: expect.stringMatching(/^stopped: /) });
  });
});
