import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { errnoOf, HarnessError } from '../errors.js';

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
 * Where the serve command's lines go: stdout while it can be written, stderr after that. Writes are
 * synchronous, so nothing is lost when the process exits right after the summary, and a failed write is
 * known at once: the line that failed goes to stderr, and so does everything after it.
 */
export interface ServeOutput {
  /** Writes `text` on stdout, or on stderr once stdout has failed. */
  stdout(text: string): void;
  /** Writes `text` on stderr; once stderr has failed (a closed terminal), lines are dropped. */
  stderr(text: string): void;
}

/**
 * The process's stdout and stderr as a ServeOutput. `onStdoutError` is called once, with the errno code
 * (EPIPE: the reader of a pipe went away), after the line that failed has gone to stderr.
 */
export function processOutput(onStdoutError: (code: string) => void): ServeOutput {
  let stdoutOk = true;
  let stderrOk = true;
  const stderr = (text: string): void => {
    if (!stderrOk) return;
    try {
      writeAllSync(2, text);
    } catch {
      stderrOk = false; // nowhere left to say so
    }
  };
  return {
    stdout(text) {
      if (!stdoutOk) return stderr(text);
      try {
        writeAllSync(1, text);
      } catch (err) {
        stdoutOk = false;
        stderr(text);
        // Not from inside the write: the caller may log about it.
        const code = errnoOf(err) ?? 'error';
        queueMicrotask(() => onStdoutError(code));
      }
    },
    stderr,
  };
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `text` to `fd`, waiting while a non-blocking pipe is full; throws any other error. */
function writeAllSync(fd: number, text: string): void {
  let rest = Buffer.from(text, 'utf8');
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (err) {
      if (errnoOf(err) !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/**
 * Text: headlines on stdout, events on stderr as `echolot serve: [level: ]message` (what a terminal and
 * journald show well). JSON: one pino record per line on stdout, for log shippers.
 */
export function createServeLogger(format: LogFormat, level: ServeLogLevel, output: ServeOutput): ServeLogger {
  const threshold = LEVELS.indexOf(level);
  if (format === 'text') {
    return {
      log(at, message) {
        if (LEVELS.indexOf(at) < threshold) return;
        output.stderr(`echolot serve: ${at === 'info' ? '' : `${at}: `}${message}\n`);
      },
      headline(message) {
        output.stdout(`echolot serve: ${message}\n`);
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
    { write: (record: string) => output.stdout(record) },
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
