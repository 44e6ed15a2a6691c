import path from 'node:path';
import type { Config } from '../config.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { migrate } from '../db/migrate.js';

/**
 * DATABASE_URL when set; otherwise an embedded Postgres with its data under `<LRO_DATA_DIR>/pg`
 * (kept between runs). Migrates either way.
 */
export async function openDatabase(config: Config, log: (m: string) => void): Promise<{ url: string; stop(): Promise<void> }> {
  if (config.DATABASE_URL) {
    await migrate(config.DATABASE_URL);
    return { url: config.DATABASE_URL, stop: async () => {} };
  }
  const dataDir = path.join(config.LRO_DATA_DIR, 'pg');
  log(`no DATABASE_URL: starting an embedded Postgres (data in ${dataDir})`);
  const db = await startEmbeddedPostgres({ dataDir });
  await migrate(db.url);
  return db;
}
