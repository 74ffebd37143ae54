import { isIP } from 'node:net';
import { type Problem, throwIfProblems } from '../errors.js';

/** Options of a conformance run, as a caller gives them (all optional). */
export interface CheckOptions {
  /** `HOST:PORT`, `[IPV6]:PORT` or `HOSTNAME:PORT`; absent = start the reference server in-process and check it. */
  target?: string;
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
  /**
   * Further addresses of the same server (secondary IPs, each interface, its IPv6 and scoped
   * link-local addresses) for cases 4.4, 4.3 (a target not on this host), 3.3, 8.1-8.3. @defaultValue []
   */
  targetAddrs?: readonly string[];
  /**
   * The process that serves the target, for case 10.4 when /proc/net of this host does not show its
   * socket (a server in another network namespace). @defaultValue undefined (found by its socket)
   */
  targetPid?: number;
  /** Expectations file to judge the run against (docs/ci.md); absent = any FAIL or ERROR is unexpected. */
  expectations?: string;
  /** Expectations file to write (merge) from this run's results; created when missing. */
  updateExpectations?: string;
  /** Exit 2 when a case passes that the expectations say fails (stale expectations). @defaultValue false */
  failOnUnexpectedPass?: boolean;
  /**
   * The user owns the target and the path to it (`--i-own-the-target`): the cases that flood it
   * (`disturbs: 'flood'`) run against a target that is neither loopback nor the embedded server;
   * without it they are UNSUPPORTED there. @defaultValue false
   */
  ownTarget?: boolean;
}

/** Check options with every default applied; frozen. */
export interface ResolvedCheckOptions {
  readonly target: string | undefined;
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
  readonly targetPid: number | undefined;
  readonly expectations: string | undefined;
  readonly updateExpectations: string | undefined;
  readonly failOnUnexpectedPass: boolean;
  readonly ownTarget: boolean;
}

function intIn(problems: Problem[], path: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
    problems.push({ path, message: `must be an integer in ${min}..${max}`, value, range: [min, max] });
  }
}

/** Validates every option (collecting all problems) and applies defaults in one place. */
export function resolveCheckOptions(options: CheckOptions = {}): ResolvedCheckOptions {
  const problems: Problem[] = [];
  intIn(problems, 'timeoutMs', options.timeoutMs, 10, 60_000);
  intIn(problems, 'retries', options.retries, 0, 10);
  intIn(problems, 'numRuns', options.numRuns, 1, 100_000);
  intIn(problems, 'seed', options.seed, -0x80000000, 0x7fffffff);
  intIn(problems, 'targetPid', options.targetPid, 1, 0x3fffff);
  if (options.path !== undefined && !/^\d+(:\d+)*$/.test(options.path)) {
    problems.push({ path: 'path', message: 'must be a fast-check path such as 12:0:3', value: options.path });
  }
  if (options.path !== undefined && options.seed === undefined) {
    problems.push({ path: 'path', message: 'needs `seed` (a path replays one seed)', value: options.path });
  }
  for (const [i, a] of (options.targetAddrs ?? []).entries()) {
    if (isIP(a.split('%')[0] ?? '') === 0) {
      problems.push({ path: `targetAddrs[${i}]`, message: 'must be an IP address', value: a });
    }
  }
  for (const [field, file] of [
    ['expectations', options.expectations],
    ['updateExpectations', options.updateExpectations],
  ] as const) {
    if (file !== undefined && file.trim() === '') {
      problems.push({ path: field, message: 'must be a file path, not an empty string', value: file });
    }
  }
  if (options.failOnUnexpectedPass === true && options.expectations === undefined) {
    problems.push({
      path: 'failOnUnexpectedPass',
      message: 'needs `expectations` (an unexpected pass is judged against a file)',
    });
  }
  if (options.ownTarget !== undefined && typeof options.ownTarget !== 'boolean') {
    problems.push({ path: 'ownTarget', message: 'must be true or false', value: options.ownTarget });
  }
  throwIfProblems(problems);
  return Object.freeze({
    target: options.target,
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
    targetPid: options.targetPid,
    expectations: options.expectations,
    updateExpectations: options.updateExpectations,
    failOnUnexpectedPass: options.failOnUnexpectedPass ?? false,
    ownTarget: options.ownTarget ?? false,
  });
}
