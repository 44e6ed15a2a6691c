import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { findChromium, findNatsServer, onPath, requireBinary } from './binaries.js';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { databaseUrl } from './urls.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
    natsUrl: string;
  }
}

/**
 * What the suite needs, set up once per run, so that `npm test` works on a fresh machine:
 * - one Postgres server: the machine's (TEST_DATABASE_URL or DATABASE_URL) or an embedded one. A
 *   template database is migrated once; each test file clones it (test/helpers/db.ts);
 * - a NATS server with JetStream: NATS_URL, else a `nats-server -js` of this run's own on a free port
 *   (NATS_SERVER_BIN, the PATH or /usr/sbin), stopped at the end;
 * - Chromium for the browser tests: CHROME_PATH, else chromium / chromium-browser / google-chrome on
 *   the PATH;
 * - restic for the backup tests (Debian's 0.14 stands in for rustic), and rclone for a REST bucket, on the PATH.
 * A missing binary is installed with apt-get when running as root on Debian (saying so), else the
 * run stops here with the command to run. NATS_URL, NATS_SERVER_BIN and CHROME_PATH are exported to
 * the test workers (which inherit this process's environment).
 */
export default async function setup(project: TestProject) {
  const chrome = requireBinary('Chromium', findChromium, 'chromium', 'CHROME_PATH');
  const natsBin = requireBinary('nats-server', findNatsServer, 'nats-server', 'NATS_SERVER_BIN');
  requireBinary('restic', () => onPath(['restic']), 'restic', 'PATH');
  requireBinary('rclone', () => onPath(['rclone']), 'rclone', 'PATH'); // `rclone serve restic`: a network bucket
  process.env.CHROME_PATH = chrome;
  process.env.NATS_SERVER_BIN = natsBin;
  let nats: NatsServer | null = null;
  if (!process.env.NATS_URL) {
    nats = await startNatsServer(natsBin);
    process.env.NATS_URL = nats.url;
  }
  project.provide('natsUrl', process.env.NATS_URL);
  try {
    const stopPostgres = await setupPostgres(project);
    return async () => {
      await stopPostgres();
      await nats?.stop();
    };
  } catch (err) {
    await nats?.stop();
    throw err;
  }
}

/** The Postgres server and the migrated template database; returns the teardown. */
async function setupPostgres(project: TestProject): Promise<() => Promise<void>> {
  let embedded: EmbeddedDatabase | null = null;
  let adminUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: `.data/test-pg-${process.pid}`, ephemeral: true });
    adminUrl = embedded.url;
  }
  const templateDb = `lro_tpl_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${templateDb}`);
  await admin.query(`CREATE DATABASE ${templateDb}`);
  await migrate(databaseUrl(adminUrl, templateDb));
  project.provide('adminUrl', adminUrl);
  project.provide('templateDb', templateDb);
  return async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${templateDb} WITH (FORCE)`);
    await admin.end();
    await embedded?.stop();
  };
}
