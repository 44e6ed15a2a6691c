// The layers of src/ and who may import whom (imports only go downward). Read by eslint.config.js,
// which turns this table into eslint-plugin-import-x `no-restricted-paths` zones, and by
// test/layers.test.ts. A top-level entry of src/ missing from this table fails that test: a new
// folder takes a place in the layers when it is added, not later.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SRC = path.join(ROOT, 'src');

/**
 * For each top-level entry of src/ (a folder, or a lone file such as config.ts), the other entries
 * it may import from. Everything not listed is forbidden; `'*'` allows everything.
 * @type {Record<string, string[] | '*'>}
 */
export const LAYERS = {
  shared: [], // statuses, the operation record, progress shapes, backoff, defaults: depends on nothing
  lro: ['shared'], // the core: store, SQL, streams, clock, logger
  workers: ['lro', 'shared'], // claim loop, heartbeat, runner, maintenance, kinds
  domain: ['lro', 'shared'], // accounts, projects, hosts, regions
  db: ['shared'], // migrations, the embedded Postgres
  backup: ['lro', 'workers', 'domain', 'shared'], // restic, the regions' buckets, the project kinds
  schedules: ['lro', 'shared'], // cron schedules that create ops (pg-boss's scheduler)
  app: ['lro', 'workers', 'domain', 'backup', 'schedules', 'shared', 'db'], // the composition root (the Lro facade)
  // The hub. src/api/ui-assets.ts reads src/ui as files to bundle them, which is no import.
  api: ['app', 'lro', 'domain', 'backup', 'schedules', 'shared', 'db'],
  client: ['shared'], // the HTTP client, for the CLI and the browser
  ui: ['client', 'shared'], // the browser page: bundled, so it cannot reach server code
  'config.ts': ['shared'],
  // The package entry point (the build branch adds it): re-exports the library, not the CLI or the page.
  'index.ts': ['app', 'api', 'lro', 'workers', 'domain', 'backup', 'schedules', 'db', 'client', 'shared', 'config.ts'],
  cli: '*', // wires everything together
};

/** The top-level entries of src/ (folders and files), as named in LAYERS. */
export function srcEntries() {
  return readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory() || /\.[cm]?[jt]s$/.test(e.name))
    .map((e) => e.name)
    .sort();
}

/**
 * The `no-restricted-paths` zones: for each layer, every other entry of src/ it may not import.
 * Entries present in src/ but absent from LAYERS are forbidden to every layer (and unchecked
 * themselves until they get a row).
 */
export function layerZones() {
  const entries = srcEntries();
  const zones = [];
  for (const [layer, allowed] of Object.entries(LAYERS)) {
    if (allowed === '*' || !entries.includes(layer)) continue;
    const from = entries.filter((e) => e !== layer && !allowed.includes(e)).map((e) => `./src/${e}`);
    if (from.length === 0) continue;
    const may = allowed.length ? allowed.map((a) => `src/${a}`).join(', ') : 'nothing in src';
    const message = `src/${layer} may import only from ${may} (layers: scripts/layers.js)`;
    zones.push({ target: `./src/${layer}`, from, message });
  }
  return zones;
}
