import { randomBytes } from 'node:crypto';
import { link, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { lroOptions, type Config } from '../config.js';
import { Access } from '../domain/access.js';
import { hostInsert } from '../domain/sql/hosts.js';
import { projectInsert } from '../domain/sql/projects.js';
import { Lro } from '../app/lro.js';
import { isTerminal } from '../shared/status.js';
import type { WorkerPool } from '../workers/pool.js';
import { openDatabase, type OpenDatabase } from './database.js';
import { cliLogger } from './logger.js';
import { LineBlock, renderOp } from './render.js';
import { serveHost, serveHub } from './serve.js';
import { serve } from './signals.js';

/**
 * The buckets' password for the demo: `.data/restic-password` in the working directory, beside the
 * seeded regions' buckets (`file:.data/buckets/<region>`, relative to it), whatever LRO_DATA_DIR is:
 * a bucket and its password stay together. Made once (random, owner-only).
 */
async function demoPasswordFile(): Promise<string> {
  const file = path.resolve('.data', 'restic-password');
  await mkdir(path.dirname(file), { recursive: true });
  // Written whole under a name of its own, then linked into place: a second `npm start` at the same
  // moment never reads a file that is there but not yet written (link fails when one exists).
  const staged = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(staged, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  try {
    await link(staged, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(staged, { force: true });
  }
  return file;
}

/** A few files in the demo project's two roots, so its backup has something to carry. */
async function writeDemoFiles(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'project', 'notebooks'), { recursive: true });
  await mkdir(path.join(dir, 'persist'), { recursive: true });
  await writeFile(path.join(dir, 'project', 'README.md'), '# demo project\n');
  await writeFile(path.join(dir, 'project', 'notebooks', 'data.bin'), randomBytes(4 * 1024 * 1024));
  await writeFile(path.join(dir, 'persist', 'settings.json'), '{"theme":"light"}\n');
}

/** The demo draws bars every 200 ms: summaries every 2 s (the default) would make them jump. */
const DEMO_SUMMARY_INTERVAL_S = 0.5;

/**
 * The one-command demo: a database (embedded when no DATABASE_URL), migrations, the hub with two
 * in-process hosts, a demo account, project and token, and a few `demo` ops (one per host, one on
 * the hub, one failing on purpose) drawn in the terminal. Keeps serving until SIGINT/SIGTERM, which
 * lets running ops finish before the database stops.
 */
export async function startCommand(config: Config, opts: { demoOps: number; exitWhenDone: boolean; port?: number }): Promise<void> {
  const log = cliLogger(config);
  const say = (m: string) => log.info(m);
  const adminToken = config.LRO_ADMIN_TOKEN ?? `admin_${randomBytes(18).toString('base64url')}`;
  const passwordFile = config.LRO_RESTIC_PASSWORD_FILE ?? (await demoPasswordFile());
  config = {
    ...config,
    LRO_ADMIN_TOKEN: adminToken,
    LRO_SUMMARY_INTERVAL_S: DEMO_SUMMARY_INTERVAL_S,
    LRO_RESTIC_PASSWORD_FILE: passwordFile,
  };
  let db: OpenDatabase | undefined;
  let lro: Lro | undefined;
  let app: FastifyInstance | undefined;
  let stopHosts: (() => Promise<void>)[] = [];
  const pools: WorkerPool[] = [];
  // Signals are handled from the first moment, so that a Ctrl-C at any point stops the database last.
  const { value: demo, shutdown } = await serve(
    async () => {
      db = await openDatabase(config, say);
      lro = await Lro.open({ ...lroOptions(config, db.url, 'lro-start'), log });
      const hub = await serveHub(lro, config, { port: opts.port ?? config.PORT, logLevel: 'warn' });
      app = hub.app;
      pools.push(hub.pool);
      const access = new Access({ db: lro.db });
      const { account, token } = await access.createAccount('demo');
      const hosts = await Promise.all(
        ['host-a', 'host-b'].map((name) => hostInsert(lro!.db, { name, region: 'local', admin_account_id: account.account_id })),
      );
      const project = await projectInsert(lro.db, {
        title: 'demo project',
        host_id: hosts[0]!.host_id,
        backup_region: 'local',
        created_by: account.account_id,
      });
      // Each host keeps its projects in a data dir of its own, as hosts on separate machines would.
      const dataDirs = hosts.map((h) => path.join(config.LRO_DATA_DIR, 'hosts', h.name));
      await writeDemoFiles(path.join(dataDirs[0]!, 'projects', project.project_id));
      const served = await Promise.all(hosts.map((h, i) => serveHost(lro!, config, { hostId: h.host_id, dataDir: dataDirs[i]! })));
      pools.push(...served.map((s) => s.pool));
      stopHosts = served.map((s) => s.stop);
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      say(`lro hub at ${url} with hosts ${hosts.map((h) => h.host_id).join(', ')}`);
      say(`demo token (account ${account.account_id}): ${token}`);
      say(`admin token: ${adminToken}`);
      say(`try: LRO_URL=${url} LRO_TOKEN=${token} npx lro ops list --scope project:${project.project_id}`);
      return { lro, url, hosts, account, project };
    },
    async (o) => {
      await app?.close();
      await Promise.all(stopHosts.map((s) => s()));
      await lro?.close(o);
      await db?.stop();
    },
    { log, pools, stopTimeoutMs: config.LRO_STOP_TIMEOUT_S * 1000 },
  );
  if (shutdown.signal.aborted) return shutdown.done;

  say(`creating ${opts.demoOps} demo ops and a backup of the demo project`);
  const ids: string[] = [];
  for (let i = 0; i < opts.demoOps; i++) {
    const input =
      i === 2
        ? { steps: 10, step_ms: 150, fail_at_step: 25, permanent: true }
        : { steps: 10 + 5 * i, step_ms: 80, ...(demo.hosts[i] ? { host_id: demo.hosts[i]!.host_id } : {}) };
    const { op } = await demo.lro.store.create(
      { kind: 'demo', scope: { type: 'project', id: demo.project.project_id }, input },
      { createdBy: demo.account.account_id },
    );
    ids.push(op.op_id);
  }
  // And a backup of the demo project (a few files on host-a) into the `local` region's bucket.
  const backup = await demo.lro.store.create(
    { kind: 'project-backup', scope: { type: 'project', id: demo.project.project_id }, input: {} },
    { createdBy: demo.account.account_id },
  );
  ids.push(backup.op.op_id);
  const block = new LineBlock();
  while (!shutdown.signal.aborted) {
    // A Ctrl-C may close the database under a refresh in flight: that only ends the display.
    const ops = await Promise.all(ids.map((id) => demo.lro.store.get(id))).catch((err: unknown) => {
      if (shutdown.signal.aborted) return null;
      throw err;
    });
    if (!ops) break;
    block.draw(ops.map(renderOp));
    if (ops.every((op) => isTerminal(op.status))) break;
    await delay(200); // a display refresh rate, not a wait for an event
  }
  if (opts.exitWhenDone) return shutdown.now();
  if (!shutdown.signal.aborted) say(`demo ops finished; the hub keeps serving at ${demo.url}. Ctrl-C to stop (running ops finish first).`);
  return shutdown.done;
}
