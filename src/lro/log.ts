import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one logger of a process: pino, JSON lines. The CLI makes it and passes it to the `Lro`, the hub
 * (Fastify takes it as its `loggerInstance`), the worker pools and the maintenance services, which
 * bind what they log about (`worker_id`, `op_id`, `kind`) with `child()`.
 */
export function createLogger(opts: { level?: string; destination?: { write(line: string): void } } = {}): Logger {
  const level = opts.level ?? process.env.LRO_LOG_LEVEL ?? 'info';
  return pino(
    { level, base: { name: 'lro' }, serializers: { err: serializeError } },
    opts.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

/** The library's default when none is passed: warnings and errors to stderr. */
export function defaultLogger(): Logger {
  return createLogger({ level: process.env.LRO_LOG_LEVEL ?? 'warn' });
}

/** A logger that drops everything (tests that assert on their own signals). */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * pino's error serializer without `client`: pg-pool hangs the whole client on an idle connection's
 * error, its connection parameters (a password among them) included.
 */
function serializeError(err: unknown): unknown {
  const { client: _client, ...rest } = pino.stdSerializers.err(err as Error) as Record<string, unknown>;
  return rest;
}
