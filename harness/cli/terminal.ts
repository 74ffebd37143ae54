import { isAbsolute, relative } from 'node:path';
import { appendFile } from 'node:fs/promises';
import { HarnessError } from '../errors.js';

/**
 * Whether to write ANSI colour to `stream`: never when NO_COLOR is set to anything non-empty
 * (no-color.org), always when FORCE_COLOR is set and not 0/false, otherwise only on a TTY.
 */
export function colorEnabled(
  stream: { readonly isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if ((env['NO_COLOR'] ?? '') !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '0' && force.toLowerCase() !== 'false') return true;
  return stream.isTTY === true;
}

/** Whether this process runs as a GitHub Actions step (annotations are understood). */
export const inGithubActions = (env: NodeJS.ProcessEnv = process.env): boolean =>
  env['GITHUB_ACTIONS'] === 'true';

/** Appends Markdown to $GITHUB_STEP_SUMMARY when it is set; the job page shows it. */
export async function appendStepSummary(
  markdown: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const file = env['GITHUB_STEP_SUMMARY'];
  if (file === undefined || file === '') return;
  await appendFile(file, markdown).catch((err: unknown) => {
    throw new HarnessError('ERR_ECHOLOT_IO', `GITHUB_STEP_SUMMARY ${file}: cannot append the summary`, {
      cause: err,
    });
  });
}

/** A path as the user should see it: relative to the working directory when inside it, else absolute. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? p : rel;
}

/** A stream a status line can be drawn on (process.stdout, process.stderr, or a stand-in in tests). */
export interface StatusStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(s: string): unknown;
}

/** One self-overwriting line at the bottom of a terminal: progress of `check` and `load`. */
export interface StatusLine {
  /** Draws `text` over the previous status (nothing when the stream is not a terminal). */
  show(text: string): void;
  /** Erases the status so that a normal line can be printed (nothing when none is shown). */
  clear(): void;
  /** The terminal's width in columns (80 when unknown). */
  readonly columns: number;
}

/** Carriage return and erase to the end of the line. */
const ERASE_LINE = '\r\u001b[K';

/**
 * A status line on `stream`: drawn only when the stream is a terminal, so that a pipe, a file or a
 * CI log never sees a carriage return or an escape code from it.
 */
export function statusLine(stream: StatusStream): StatusLine {
  const tty = stream.isTTY === true;
  let shown = false;
  return {
    show(text: string): void {
      if (!tty) return;
      stream.write(`${ERASE_LINE}${text}`);
      shown = true;
    },
    clear(): void {
      if (!shown) return;
      stream.write(ERASE_LINE);
      shown = false;
    },
    get columns(): number {
      return stream.columns !== undefined && stream.columns > 0 ? stream.columns : 80;
    },
  };
}
