import type { Config } from '../config.js';
import { createLogger, type Logger } from '../lro/log.js';

let logger: Logger | undefined;

/**
 * The CLI's one logger (pino), made at its first use in the process: what the daemons (`start`, `hub`,
 * `host`, `worker`) and the shutdown say, on stderr. LRO_LOG_FORMAT=text (default) writes each
 * record's message (with its bound fields as ` key=value`) as one line, for terminals and the
 * messages the README quotes; `json` writes pino's JSON lines, for log collectors.
 */
export function cliLogger(config: Pick<Config, 'LRO_LOG_LEVEL' | 'LRO_LOG_FORMAT'>): Logger {
  logger ??= createLogger({
    level: config.LRO_LOG_LEVEL,
    ...(config.LRO_LOG_FORMAT === 'text' ? { destination: textLines(process.stderr) } : {}),
  });
  return logger;
}

/** Fields pino adds to every record: not repeated on the text lines. */
const STANDARD = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/** A pino destination writing each JSON record as its message and extra fields, one line each. */
export function textLines(out: { write(s: string): unknown }): { write(line: string): void } {
  return {
    write(line: string) {
      const record = JSON.parse(line) as Record<string, unknown>;
      const extra = Object.entries(record)
        .filter(([k]) => !STANDARD.has(k))
        .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join('');
      out.write(`${String(record.msg ?? '')}${extra}\n`);
    },
  };
}
