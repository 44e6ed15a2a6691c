import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
/** The built `lro` (npm run build), as a user runs it. */
export const BIN = new URL('../../bin/lro.js', import.meta.url).pathname;

/** Each `lro` run starts a node process (a fraction of a second, more on a loaded 2-core machine): tests that make many get more time. */
export const CLI_TIMEOUT = 180_000;

/** Runs `lro <args>` with `env` over the test's own environment; rejects on a non-zero exit (the error has `code`, `stdout`, `stderr`). */
export const lroCliFor =
  (env: Record<string, string>) =>
  (args: string[], more: Record<string, string> = {}) =>
    exec(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, ...more } });

/** The run's exit code and output, whether it failed (as a test expects) or not. */
export const outcome = (run: Promise<{ stdout: string; stderr: string }>): Promise<{ code: number; stdout: string; stderr: string }> =>
  run.then(
    (r) => ({ code: 0, ...r }),
    (e) => e,
  );
