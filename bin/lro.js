#!/usr/bin/env node
// Runs the compiled CLI (`dist/`, built by `npm run build`, which `npm ci` runs as `prepare`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('lro: dist/ is missing: run `npm run build` (npm ci runs it) in the lro checkout');
  process.exit(1);
}
await import(main.href);
