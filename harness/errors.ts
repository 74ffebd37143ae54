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
  /** Input data that is malformed or does not fit together: a shard file that is not one, shards of different runs or histogram settings, a shard twice (EX_DATAERR). */
  ERR_ECHOLOT_DATA: 65,
  /** Shards of a distributed load run are missing from a merge (without allowPartial): the run is incomplete, as a failed threshold. */
  ERR_ECHOLOT_SHARDS_MISSING: 1,
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
  /** Set on a validation error (from a resolve function): every problem found, each naming its field. */
  declare readonly problems?: readonly Problem[];

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; problems?: readonly Problem[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.problems !== undefined) this.problems = Object.freeze([...options.problems]);
  }

  /** The process exit code documented for this error. */
  get exitCode(): number {
    return ERROR_CATALOGUE[this.code];
  }
}

/** One validation problem: which field, which rule, and what was received. */
export interface Problem {
  /** The field as a path into the options given: `durationMs`, `sizes[2]`, `search.maxLossPercent`. */
  readonly path: string;
  /**
   * The rule, e.g. "must be an integer in 100..86400000". Other fields it names are in backticks
   * (`flows`), so that a front end such as the CLI can name them its own way.
   */
  readonly message: string;
  /** The value received, when the problem is about one value. */
  readonly value?: unknown;
  /** The bounds the rule states, for a front end that shows them in its own units. */
  readonly range?: readonly [min: number, max: number];
}

/** A value as problem messages show it: strings bare ('' when empty), lists in brackets. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return value === '' ? "''" : value;
  if (Array.isArray(value)) return `[${value.map(showValue).join(',')}]`;
  if (typeof value === 'function') return 'function';
  return String(value);
}

/** One problem as a library caller reads it: `durationMs 50: must be an integer in 100..86400000`. */
export function formatProblem(p: Problem): string {
  return `${p.path}${p.value === undefined ? '' : ` ${showValue(p.value)}`}: ${p.message}`;
}

/** One usage HarnessError that carries every problem and lists them all in its message. */
export function validationError(problems: readonly Problem[]): HarnessError {
  return new HarnessError('ERR_ECHOLOT_USAGE', problems.map(formatProblem).join('; '), { problems });
}

/** Throws one validationError listing every problem, when there is any. */
export function throwIfProblems(problems: readonly Problem[]): void {
  if (problems.length === 0) return;
  throw validationError(problems);
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
