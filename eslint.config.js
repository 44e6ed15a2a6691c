// ESLint 9 flat config: the recommended JavaScript and typescript-eslint sets, Prettier owning the
// layout (eslint-config-prettier turns off the rules it would fight), lines of at most 140
// characters, unused code as errors, and the import layers of scripts/layers.js.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { layerZones, ROOT } from './scripts/layers.js';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', 'bench/results/', 'test-results/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A closure may read a variable that is assigned once, later (signals.ts: stop() reads `ready`).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // After Prettier (which turns max-len off): what Prettier cannot break is still too long.
      // Strings, template literals and comments count (split them); only URLs and regex literals,
      // which cannot be split without harm, are let through.
      'max-len': [
        'error',
        { code: 140, tabWidth: 2, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreStrings: false, ignoreComments: false },
      ],
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'all',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // The layers: imports only go downward (scripts/layers.js says who may import whom).
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${ROOT}/tsconfig.json` })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: ROOT, zones: layerZones() }],
    },
  },
  {
    // Library code logs through the injected pino logger (src/lro/log.ts); only the CLI prints.
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-console': 'error' },
  },
  {
    // Tests and benchmarks read JSON answers and peers' untyped internals.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/ui/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
