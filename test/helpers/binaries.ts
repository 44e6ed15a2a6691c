import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

/** The first of `names` that is an executable on the PATH (or in `extraDirs`). */
export function onPath(names: readonly string[], extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...extraDirs];
  for (const name of names) {
    for (const dir of dirs) {
      const file = path.join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome'] as const;

/** nats-server: NATS_SERVER_BIN, else on the PATH, else Debian's /usr/sbin. */
export const findNatsServer = () => process.env.NATS_SERVER_BIN || onPath(['nats-server'], ['/usr/sbin', '/usr/local/bin']);
/** Chromium: CHROME_PATH, else `chromium`, `chromium-browser` or `google-chrome` on the PATH. */
export const findChromium = () => process.env.CHROME_PATH || onPath(CHROMIUM_NAMES);

/**
 * The browser the UI tests drive (the test run's global setup found it, installing it if it could,
 * and exported CHROME_PATH to the workers).
 */
export function chromiumPath(): string {
  const found = findChromium();
  if (!found) throw new Error(`no Chromium: set CHROME_PATH or put one of ${CHROMIUM_NAMES.join(', ')} on the PATH`);
  return found;
}

/** The nats-server binary (for tests that run a server of their own). */
export function natsServerBin(): string {
  const found = findNatsServer();
  if (!found) throw new Error('no nats-server: set NATS_SERVER_BIN or put nats-server on the PATH');
  return found;
}

/** The NATS server of this test run (NATS_URL, or the one the global setup started). */
export function natsUrl(): string {
  const url = process.env.NATS_URL;
  if (!url) throw new Error('NATS_URL is not set (test/helpers/global-setup.ts sets it)');
  return url;
}

/**
 * `find()`'s answer; when there is none: as root on Debian, installs `debianPackage` with apt-get
 * (saying so on stderr); otherwise stops with the one command to run.
 */
export function requireBinary(what: string, find: () => string | undefined, debianPackage: string, envVar: string): string {
  const found = find();
  if (found) return found;
  const debian = existsSync('/etc/debian_version');
  if (debian && process.getuid?.() === 0) {
    console.error(`test setup: ${what} not found: installing it (apt-get install -y ${debianPackage})`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', debianPackage], { stdio: 'inherit', env });
    const installed = find();
    if (installed) return installed;
  }
  const command = debian ? `sudo apt-get install -y ${debianPackage}` : `install ${debianPackage} (your system's package) or set ${envVar}`;
  throw new Error(`the tests need ${what}, which is not installed: run \`${command}\`, or set ${envVar} to its path`);
}
