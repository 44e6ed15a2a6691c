import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The page's sources (bundled on the fly when running from `src/`). */
const DIR = fileURLToPath(new URL('../ui/', import.meta.url));
/** The page bundled by `npm run build` (`dist/assets/`, next to the compiled `dist/api/`). */
const BUILT = fileURLToPath(new URL('../assets/', import.meta.url));

/** The page's HTML: everything else, its stylesheet too, comes from /assets (built here, nothing from a CDN). */
export const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>lro</title>
</head>
<body><header></header><main></main><script type="module" src="/assets/app.js"></script></body></html>`;

let built: Promise<Map<string, string>> | null = null;

/**
 * The page and the embeddable element: from the compiled package, the files `npm run build` bundled
 * into `dist/assets/`; from the sources (tests, development), bundled here with esbuild (a dev
 * dependency), once per process, in memory, at the first request.
 */
export function assets(): Promise<Map<string, string>> {
  built ??= (async () => {
    const files = await readdir(BUILT).catch(() => null);
    if (files) {
      const js = files.filter((f) => f.endsWith('.js'));
      return new Map(await Promise.all(js.map(async (f) => [f, await readFile(`${BUILT}${f}`, 'utf8')] as const)));
    }
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: { app: `${DIR}app.ts`, 'lro-progress': `${DIR}index.ts` },
      bundle: true,
      format: 'esm',
      target: 'es2022',
      minify: true,
      write: false,
      outdir: '/assets',
      logLevel: 'silent',
    });
    return new Map(result.outputFiles.map((f) => [f.path.split('/').pop()!, f.text]));
  })();
  built.catch(() => {
    built = null;
  });
  return built;
}
