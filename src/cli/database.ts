import path from 'node:path';
import type { Config } from '../config.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { migrate } from '../db/migrate.js';

export interface OpenDatabase {
  url: string;
  /** Stops the embedded server if this process started it (or took it over); otherwise nothing. */
  stop(): Promise<void>;
}

/**
 * DATABASE_URL when set; otherwise the embedded Postgres with its data under `<LRO_DATA_DIR>/pg`
 * (kept between runs): the one already running there (`npm start`'s, say), or started here and
 * stopped by `stop()`. Says which on `log`, with the URL. Migrates either way unless told not to.
 */
export async function openDatabase(config: Config, log: (m: string) => void, opts: { migrate?: boolean } = {}): Promise<OpenDatabase> {
  const migrating = opts.migrate ?? true;
  if (config.DATABASE_URL) {
    if (migrating) await migrate(config.DATABASE_URL);
    return { url: config.DATABASE_URL, stop: async () => {} };
  }
  const dataDir = path.join(config.LRO_DATA_DIR, 'pg');
  const db = await startEmbeddedPostgres({ dataDir });
  log(
    db.owned
      ? `database: ${db.url}  (embedded Postgres, data in ${dataDir}; lro commands run with the same LRO_DATA_DIR use it, ` +
          `other shells: export DATABASE_URL=${db.url})`
      : `database: ${db.url}  (the embedded Postgres already running on ${dataDir})`,
  );
  try {
    if (migrating) await migrate(db.url);
  } catch (err) {
    await db.stop();
    throw err;
  }
  return db;
}
