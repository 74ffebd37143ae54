import { pino, type Logger } from 'pino';
import { HarnessError } from '../errors.js';

/** How `echolot serve` writes its log. */
export type LogFormat = 'text' | 'json';

/** Threshold of `--log-level`, most verbose first. */
export type ServeLogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly ServeLogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Structured fields attached to one event; text output shows only the message. */
export type LogFields = Readonly<Record<string, unknown>>;

/** The serve command's logger: events with levels, written as text lines or as JSON records (pino). */
export interface ServeLogger {
  /** An event worth logging at `level`; suppressed below the configured level. */
  log(level: ServeLogLevel, message: string, fields?: LogFields): void;
  /**
   * A headline (listening, stopped): a plain line on stdout in text format, an info record in JSON.
   * Shown even with --quiet, because scripts wait for it.
   */
  headline(message: string, fields: LogFields): void;
}

/** Parses --log-format; throws a usage error naming the value. */
export function parseLogFormat(raw: string): LogFormat {
  if (raw === 'text' || raw === 'json') return raw;
  throw new HarnessError('ERR_ECHOLOT_USAGE', `--log-format ${raw}: must be text or json`);
}

/** Parses --log-level; throws a usage error naming the value. */
export function parseLogLevel(raw: string): ServeLogLevel {
  if ((LEVELS as readonly string[]).includes(raw)) return raw as ServeLogLevel;
  throw new HarnessError('ERR_ECHOLOT_USAGE', `--log-level ${raw}: must be one of ${LEVELS.join(', ')}`);
}

/**
 * Text: headlines on stdout, events on stderr as `echolot serve: [level: ]message` (what a terminal and
 * journald show well). JSON: one pino record per line on stdout, for log shippers. Writes are synchronous
 * so nothing is lost when the process exits right after the summary.
 */
export function createServeLogger(format: LogFormat, level: ServeLogLevel): ServeLogger {
  const threshold = LEVELS.indexOf(level);
  if (format === 'text') {
    return {
      log(at, message) {
        if (LEVELS.indexOf(at) < threshold) return;
        process.stderr.write(`echolot serve: ${at === 'info' ? '' : `${at}: `}${message}\n`);
      },
      headline(message) {
        process.stdout.write(`echolot serve: ${message}\n`);
      },
    };
  }
  const logger: Logger = pino(
    {
      name: 'echolot-serve',
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: true }),
  );
  // A headline must appear whatever the level: it is what scripts and operators wait for.
  const headlines = logger.child({}, { level: 'info' });
  return {
    log(at, message, fields) {
      logger[at](fields ?? {}, message);
    },
    headline(message, fields) {
      headlines.info(fields, message);
    },
  };
}
