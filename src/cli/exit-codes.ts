import { LroApiError } from '../client/client.js';
import { ConfigError } from '../config.js';
import { LroError } from '../lro/errors.js';
import { isTerminal } from '../shared/status.js';

/** What `lro` exits with, so that scripts can tell the outcomes apart (also in `--help` and the README). */
export const EXIT = {
  ok: 0,
  /**
   * Anything unexpected: the database or the hub unreachable, a port in use, a refusal such as 409;
   * an invalid environment (a ConfigError, e.g. DATABASE_URL not a postgres:// URL).
   */
  error: 1,
  /** Bad usage or input: an unknown option, a malformed id or JSON, a 400 from the hub. */
  usage: 2,
  /** `ops wait` / `ops watch` / `projects … --watch`: the op ended failed, canceled or expired. */
  opFailed: 3,
  /** `ops wait`: the timeout ran out with the op still queued or running. */
  timeout: 4,
  /** The database applied a migration whose file has changed since (see `lro migrate`): nothing started. */
  migrationChanged: 5,
} as const;

export const EXIT_HELP = `
Exit codes:
  0  done (for ops wait/watch: the op succeeded)
  1  unexpected error (database or hub unreachable, port in use, the hub refused, e.g. 409)
  2  bad usage or input (unknown option, malformed id or JSON, the hub answered 400)
  3  ops wait/watch, projects … --watch: the op ended failed, canceled or expired
  4  ops wait: the timeout ran out with the op still queued or running
  5  a migration in sql/ was edited after the database applied it (nothing was started)`;

/** The exit code for an op's status once `wait`/`watch` is over. */
export function exitForStatus(status: string): number {
  if (status === 'succeeded') return EXIT.ok;
  return isTerminal(status) ? EXIT.opFailed : EXIT.timeout;
}

/** The exit code for an error that ended a command. */
export function exitForError(err: unknown): number {
  if (err instanceof ConfigError) return EXIT.error;
  // By its code, not its class: importing db/migrate here would load pg into every `lro --help`.
  if ((err as { code?: unknown })?.code === 'migration_changed') return EXIT.migrationChanged;
  if (err instanceof LroError) return EXIT.usage;
  if (err instanceof LroApiError && err.status === 400) return EXIT.usage;
  return EXIT.error;
}
