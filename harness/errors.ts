/** The one error class of echolot and its catalogue of stable codes (match on `code`, never on text). */

/** Every code echolot throws, with the process exit code the CLI maps it to. */
export const ERROR_CATALOGUE = {
  /** Bad command line or option value. */
  ERR_ECHOLOT_USAGE: 64,
  /** A selection (--only/--exclude) that selects no case. */
  ERR_ECHOLOT_EMPTY_SELECTION: 64,
  /** A host name that does not resolve. */
  ERR_ECHOLOT_RESOLVE: 69,
  /** The target does not answer at preflight. */
  ERR_ECHOLOT_UNREACHABLE: 69,
  /** An expectations file that is missing or malformed (names the file, the field, the rule and the value). */
  ERR_ECHOLOT_EXPECTATIONS: 64,
  /** A server socket could not be bound (address in use, address not local). */
  ERR_ECHOLOT_BIND: 69,
  /** A server socket could not be bound for lack of privilege (ports below 1024). */
  ERR_ECHOLOT_BIND_PERMISSION: 77,
  /** A file could not be read or written. */
  ERR_ECHOLOT_IO: 74,
  /** A harness or environment fault: a bug, or the machine refusing something it should allow. */
  ERR_ECHOLOT_INTERNAL: 70,
} as const;

/** A stable error code from the catalogue. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The only error class echolot throws on purpose: a stable code, a one-line message, an optional cause. */
export class HarnessError extends Error {
  override readonly name = 'HarnessError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  /** The process exit code documented for this error. */
  get exitCode(): number {
    return ERROR_CATALOGUE[this.code];
  }
}

/** One validation problem: where, which rule, and what was received. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/** Throws one usage HarnessError that lists every problem, each naming field, constraint and value. */
export function throwIfProblems(problems: readonly Problem[]): void {
  if (problems.length === 0) return;
  throw new HarnessError('ERR_ECHOLOT_USAGE', problems.map((p) => `${p.path}: ${p.message}`).join('; '));
}

/** True when `err` is a Node system error with the given errno code (EACCES, EADDRINUSE, ...). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** The errno code of a Node system error, or undefined. */
export function errnoOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
