import { z } from 'zod';
import { DEFAULTS } from './shared/defaults.js';

const seconds = (def: number) => z.coerce.number().positive().max(86_400).default(def);

/** The environment, read once at start and validated; a bad value stops the process with a clear message. */
export const ConfigSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /** URL-safe characters only: a page sends it as `?access_token=`, where `;`, `#` or `%` would be cut or decoded. */
  LRO_ADMIN_TOKEN: z
    .string()
    .min(16)
    .regex(/^[A-Za-z0-9._~-]+$/, 'must be URL-safe: letters, digits and . _ ~ -')
    .optional(),
  PORT: z.coerce.number().int().min(0).max(65_535).default(DEFAULTS.port),
  LRO_STREAMS: z
    .string()
    .regex(/^(pg|nats:\/\/.+)$/, 'must be "pg" or a nats:// URL')
    .default('pg'),
  LRO_HEARTBEAT_S: seconds(DEFAULTS.heartbeatS),
  LRO_LEASE_S: seconds(DEFAULTS.leaseS),
  LRO_STALL_S: seconds(DEFAULTS.stallS),
  LRO_SUMMARY_INTERVAL_S: seconds(DEFAULTS.summaryIntervalS),
  /** How long a finished op's progress stream is kept. */
  LRO_RETENTION_S: z.coerce.number().positive().default(DEFAULTS.retentionS),
  LRO_DATA_DIR: z.string().default(DEFAULTS.dataDir),
  /** The file holding every bucket's restic password (never the password itself: it stays out of env dumps and the database). */
  LRO_RESTIC_PASSWORD_FILE: z.string().optional(),
  /** How often a host looks for changed files in its running projects (their `last_edited`). */
  LRO_FRESHNESS_S: seconds(DEFAULTS.freshnessS),
  LRO_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(DEFAULTS.concurrency),
  /** The longest a stop may take after the first signal; past it the process exits (1) anyway. */
  LRO_STOP_TIMEOUT_S: seconds(DEFAULTS.stopTimeoutS),
  /** Active (queued + running) ops an account may have at once; 0 = no limit. The admin's are not counted. */
  LRO_MAX_ACTIVE_PER_ACCOUNT: z.coerce.number().int().min(0).max(10_000_000).default(DEFAULTS.maxActivePerAccount),
  /** Where `lro ops …` finds the hub, and with which token. */
  LRO_URL: z.url().default(`http://127.0.0.1:${DEFAULTS.port}`),
  LRO_TOKEN: z.string().optional(),
  /** The daemons' log: its level, and `text` (each record's message, one a line) or `json` (pino's lines). */
  LRO_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LRO_LOG_FORMAT: z.enum(['text', 'json']).default('text'),
});
export type Config = z.output<typeof ConfigSchema>;

/** The environment is invalid: the CLI exits with EXIT.error and this message (exit-codes.ts). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // A variable set to the empty string counts as not set.
  const parsed = ConfigSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  if (parsed.data.LRO_HEARTBEAT_S >= parsed.data.LRO_LEASE_S) {
    throw new ConfigError('invalid configuration: LRO_HEARTBEAT_S must be shorter than LRO_LEASE_S');
  }
  return parsed.data;
}

/** The worker pool options the configuration implies. */
export function poolOptions(config: Config) {
  return { concurrency: config.LRO_CONCURRENCY, heartbeatS: config.LRO_HEARTBEAT_S, summaryIntervalS: config.LRO_SUMMARY_INTERVAL_S };
}

/** The Lro options the configuration implies. */
export function lroOptions(config: Config, connectionString: string, applicationName?: string) {
  return {
    connectionString,
    applicationName,
    leaseS: config.LRO_LEASE_S,
    stallS: config.LRO_STALL_S,
    retentionS: config.LRO_RETENTION_S,
    streamsSpec: config.LRO_STREAMS,
    maxActivePerAccount: config.LRO_MAX_ACTIVE_PER_ACCOUNT,
    backup: { passwordFile: config.LRO_RESTIC_PASSWORD_FILE ?? null },
  };
}
