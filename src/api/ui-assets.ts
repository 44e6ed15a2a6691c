import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../ui/', import.meta.url));

/** The page's HTML: everything else comes from /assets (built here, nothing from a CDN). */
export const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>lro</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 64em; padding: 0 1em; color: #1b1f24; }
table { border-collapse: collapse; width: 100%; margin-top: 1em; } th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #d0d7de; }
form label { margin-right: .6em; } input { width: 9em; } [role=alert] { color: #b42318; }
</style></head>
<body><main></main><script type="module" src="/assets/app.js"></script></body></html>`;

let built: Promise<Map<string, string>> | null = null;

/**
 * Bundles the page and the embeddable element with esbuild, once per process, in memory: a few tens
 * of milliseconds at the first request, no build step to forget.
 */
export function assets(): Promise<Map<string, string>> {
  built ??= (async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: { app: `${DIR}app.ts`, 'lro-progress': `${DIR}index.ts` },
      bundle: true, format: 'esm', target: 'es2022', minify: true, write: false, outdir: '/assets', logLevel: 'silent',
    });
    return new Map(result.outputFiles.map((f) => [f.path.split('/').pop()!, f.text]));
  })();
  built.catch(() => { built = null; });
  return built;
}
