import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../src/db/embedded.js';

const parent = await mkdtemp(path.join(os.tmpdir(), 'lro-embedded-'));
await chmod(parent, 0o755); // as root the server runs as the postgres user, who must reach its data
afterAll(() => rm(parent, { recursive: true, force: true }));

describe('the embedded database', () => {
  it('two lro commands starting at once on a fresh data directory share one server', async () => {
    const dataDir = path.join(parent, 'pg');
    const [a, b] = await Promise.all([startEmbeddedPostgres({ dataDir }), startEmbeddedPostgres({ dataDir })]);
    try {
      expect(b.url).toBe(a.url);
      expect([a.owned, b.owned].sort()).toEqual([false, true]); // one started it, the other uses it
      const client = new pg.Client({ connectionString: a.url });
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await client.end();
    } finally {
      await Promise.all([a, b].filter((db) => !db.owned).map((db) => db.stop()));
      await Promise.all([a, b].filter((db) => db.owned).map((db) => db.stop()));
    }
  }, 120_000);
});
