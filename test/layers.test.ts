import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { LAYERS, ROOT, srcEntries } from '../scripts/layers.js';

// The import layers of scripts/layers.js, checked through the repository's own eslint.config.js, so
// the rule tested here is the rule `npm run lint` runs. Only the layer rule runs: formatting and
// unused code are the linter's business, not this test's.
const RULE = 'import-x/no-restricted-paths';
const eslint = new ESLint({ cwd: ROOT, ruleFilter: ({ ruleId }) => ruleId === RULE });

/** The layer findings for `code` as if it were the file `filePath` (relative to the root). */
async function findings(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}/${filePath}` });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('import layers', () => {
  it('every top-level entry of src/ has a place in the layers', () => {
    expect(srcEntries().filter((e) => !(e in LAYERS))).toEqual([]);
  });

  it('the tree imports only downward', async () => {
    const results = await eslint.lintFiles(['src']);
    const violations = results.flatMap((r) =>
      r.messages.map((m) => `${r.filePath.slice(ROOT.length + 1)}:${m.line} ${m.ruleId ?? 'parse'}: ${m.message}`),
    );
    expect(violations).toEqual([]);
  });

  it('the core importing a worker is refused', async () => {
    expect(await findings(`import '../workers/pool.js';\n`, 'src/lro/x.ts')).toEqual([
      expect.stringMatching(/^import-x\/no-restricted-paths: .*"\.\.\/workers\/pool\.js".*src\/lro may import only from src\/shared/),
    ]);
  });

  it('a worker importing the hub is refused, a type-only import too', async () => {
    expect(await findings(`import '../api/app.js';\n`, 'src/workers/x.ts')).toEqual([
      expect.stringMatching(/"\.\.\/api\/app\.js".*src\/workers may import only from src\/lro, src\/shared/),
    ]);
    expect(await findings(`import type { Lro } from '../../app/lro.js';\nexport type L = Lro;\n`, 'src/workers/kinds/x.ts')).toHaveLength(
      1,
    );
  });

  // The files imported below must exist: an import the resolver cannot resolve is not checked (tsc
  // fails on it instead), so a rename of pool.ts, app.ts or store.ts shows up here as a failure.
  it('the browser page importing the core is refused', async () => {
    expect(await findings(`import { OperationStore } from '../lro/store.js';\nexport const s = OperationStore;\n`, 'src/ui/x.ts')).toEqual([
      expect.stringMatching(/"\.\.\/lro\/store\.js".*src\/ui may import only from src\/client, src\/shared/),
    ]);
  });

  it('allowed imports pass: downward, within a layer, and anything from the CLI', async () => {
    expect(await findings(`import '../lro/store.js';\nimport '../shared/status.js';\nimport './pool.js';\n`, 'src/workers/x.ts')).toEqual(
      [],
    );
    expect(await findings(`import '../app/lro.js';\nimport '../workers/pool.js';\nimport '../ui/index.js';\n`, 'src/cli/x.ts')).toEqual([]);
    expect(await findings(`import { STATUS } from './status.js';\nexport const s = STATUS;\n`, 'src/shared/x.ts')).toEqual([]);
  });
});
