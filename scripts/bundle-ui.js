// The page's bundle for the build: src/ui → dist/assets/{app,lro-progress}.js (the hub serves these when
// it runs from dist/; from src/ it bundles the same entry points in memory, src/api/ui-assets.ts).
import { build } from 'esbuild';

await build({
  entryPoints: { app: 'src/ui/app.ts', 'lro-progress': 'src/ui/index.ts' },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  outdir: 'dist/assets',
  logLevel: 'warning',
});
