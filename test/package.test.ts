import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/db.js';

// The package as a consumer gets it: `import ... from 'lro'` resolves, through package.json `exports`
// (self-reference), to the compiled `dist/index.js` that `npm test` builds first.
describe("the package entry point ('lro')", () => {
  it('exports the engine, kinds, migrations, client, clock and logger', async () => {
    const lro = await import('lro');
    for (const name of [
      'Lro',
      'KindRegistry',
      'defaultKinds',
      'migrate',
      'LroClient',
      'ManualClock',
      'systemClock',
      'createLogger',
    ] as const) {
      expect(lro[name], name).toBeDefined();
    }
    expect(new lro.ManualClock().now()).toBeTypeOf('number');
  });

  it('runs an op with the compiled engine', async () => {
    const { Lro, defaultKinds, migrate } = await import('lro');
    const url = await createTestDatabase();
    expect((await migrate(url)).applied).toEqual([]); // the template is migrated: the built package finds sql/
    const lro = new Lro({ connectionString: url, kinds: defaultKinds() });
    try {
      await lro.workerPool({ routing: ['hub'], concurrency: 1 }).start();
      const { op } = await lro.store.create({ kind: 'demo', scope: { type: 'hub' }, input: { steps: 2, step_ms: 1 } });
      const done = await lro.wait(op.op_id, 30_000);
      expect(done.status).toBe('succeeded');
    } finally {
      await lro.close({ gracefulMs: 0 });
    }
  });
});

describe('the compiled hub', () => {
  it("serves the page's bundles that the build wrote to dist/assets (no esbuild at run time)", async () => {
    const dist = '../dist/api/ui-assets.js';
    const { assets } = (await import(dist)) as typeof import('../src/api/ui-assets.js');
    const served = await assets();
    expect([...served.keys()].sort()).toEqual(['app.js', 'lro-progress.js']);
    expect(served.get('app.js')).toBe(await readFile(new URL('../dist/assets/app.js', import.meta.url), 'utf8'));
  });
});
