import { isIP } from 'node:net';
import { type Problem, throwIfProblems } from '../errors.js';

/** Options of a conformance run, as a caller gives them (all optional). */
export interface CheckOptions {
  /** `HOST:PORT`, `[IPV6]:PORT` or `HOSTNAME:PORT`; absent = start the reference server in-process and check it. */
  target?: string;
  /** Where reports/<run-id>/ is written. @defaultValue 'reports' */
  reportDir?: string;
  /** Case IDs or globs to run. @defaultValue [] (every case) */
  only?: readonly string[];
  /** Case IDs or globs to leave out. @defaultValue [] */
  exclude?: readonly string[];
  /** Treat SHOULD violations as FAIL. @defaultValue false */
  strict?: boolean;
  /** fast-check seed for the property cases (replay). @defaultValue random */
  seed?: number;
  /** fast-check path to replay one counterexample (needs seed). */
  path?: string;
  /** Wait for one reply, ms. @defaultValue 1000 */
  timeoutMs?: number;
  /** Extra attempts after a timeout (never after a wrong reply). @defaultValue 2 */
  retries?: number;
  /** Runs of each property case. @defaultValue 200 */
  numRuns?: number;
  /** Decide reachable / not before the catalogue (exit 69 when not). @defaultValue true */
  preflight?: boolean;
  /** Further addresses of the same server (secondary IPs, each interface) for case 4.4. @defaultValue [] */
  targetAddrs?: readonly string[];
  /** Expectations file to judge the run against (docs/ci.md); absent = any FAIL or ERROR is unexpected. */
  expectations?: string;
  /** Expectations file to write (merge) from this run's results; created when missing. */
  updateExpectations?: string;
  /** Exit 2 when a case passes that the expectations say fails (stale expectations). @defaultValue false */
  failOnUnexpectedPass?: boolean;
}

/** Check options with every default applied; frozen. */
export interface ResolvedCheckOptions {
  readonly target: string | undefined;
  readonly reportDir: string;
  readonly only: readonly string[];
  readonly exclude: readonly string[];
  readonly strict: boolean;
  readonly seed: number;
  readonly path: string | undefined;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly numRuns: number;
  readonly preflight: boolean;
  readonly targetAddrs: readonly string[];
  readonly expectations: string | undefined;
  readonly updateExpectations: string | undefined;
  readonly failOnUnexpectedPass: boolean;
}

function intIn(problems: Problem[], path: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
    problems.push({ path, message: `must be an integer in ${min}..${max}, got ${value}` });
  }
}

/** Validates every option (collecting all problems) and applies defaults in one place. */
export function resolveCheckOptions(options: CheckOptions = {}): ResolvedCheckOptions {
  const problems: Problem[] = [];
  intIn(problems, '--timeout', options.timeoutMs, 10, 60_000);
  intIn(problems, '--retries', options.retries, 0, 10);
  intIn(problems, '--runs', options.numRuns, 1, 100_000);
  intIn(problems, '--seed', options.seed, -0x80000000, 0x7fffffff);
  if (options.path !== undefined && !/^\d+(:\d+)*$/.test(options.path)) {
    problems.push({
      path: '--path',
      message: `must be a fast-check path such as 12:0:3, got '${options.path}'`,
    });
  }
  if (options.path !== undefined && options.seed === undefined) {
    problems.push({ path: '--path', message: 'needs --seed (a path replays one seed)' });
  }
  if (options.reportDir !== undefined && options.reportDir.trim() === '') {
    problems.push({ path: '--report-dir', message: 'must be a directory path, got an empty string' });
  }
  for (const a of options.targetAddrs ?? []) {
    if (isIP(a.split('%')[0] ?? '') === 0) {
      problems.push({ path: '--target-addrs', message: `must be IP addresses, got '${a}'` });
    }
  }
  for (const [option, file] of [
    ['--expectations', options.expectations],
    ['--update-expectations', options.updateExpectations],
  ] as const) {
    if (file !== undefined && file.trim() === '') {
      problems.push({ path: option, message: 'must be a file path, got an empty string' });
    }
  }
  if (options.failOnUnexpectedPass === true && options.expectations === undefined) {
    problems.push({
      path: '--fail-on-unexpected-pass',
      message: 'needs --expectations FILE (an unexpected pass is judged against a file)',
    });
  }
  throwIfProblems(problems);
  return Object.freeze({
    target: options.target,
    reportDir: options.reportDir ?? 'reports',
    only: Object.freeze([...(options.only ?? [])]),
    exclude: Object.freeze([...(options.exclude ?? [])]),
    strict: options.strict ?? false,
    seed: options.seed ?? (Math.random() * 0x7fffffff) | 0,
    path: options.path,
    timeoutMs: options.timeoutMs ?? 1000,
    retries: options.retries ?? 2,
    numRuns: options.numRuns ?? 200,
    preflight: options.preflight ?? true,
    targetAddrs: Object.freeze([...(options.targetAddrs ?? [])]),
    expectations: options.expectations,
    updateExpectations: options.updateExpectations,
    failOnUnexpectedPass: options.failOnUnexpectedPass ?? false,
  });
}
