/**
 * `--mode search` (LOAD.md "Modes"): the highest offered rate at which, over a trial after warm-up,
 * loss <= maxLoss, p99 <= an optional bound, and the generator was healthy. RFC 2544-style: an
 * exponential ramp finds a failing rate, a binary search narrows the gap, and the final rate is
 * repeated to show the spread. Trials and total time are bounded.
 */
import { throwIfProblems, validationError, type Problem } from '../errors.js';
import { newRunId } from '../core/run-id.js';
import { acquireTarget } from '../target/acquire.js';
import { DEFAULT_PREFLIGHT } from '../target/preflight.js';
import {
  LOAD_DEFAULTS,
  LOAD_LIMITS,
  LOAD_MODES,
  loadOptionProblems,
  modeProblem,
  resolveLoadOptions,
  type LoadInternals,
  type PlanMode,
  type ResolvedLoadOptions,
} from './options.js';
import { runLoad } from './run-load.js';
import type { LoadMode, LoadOptions, LoadResult } from './types.js';
import { formatEndpoint } from '../core/address.js';
import { ownsTarget } from '../target/ownership.js';
import { interruptReason } from '../core/exit-signal.js';

/** The search's own settings (the trial's load options come from LoadOptions). */
export interface SearchSettings {
  /** Largest loss of a passing trial, percent of sent. @defaultValue 0.1 */
  maxLossPercent?: number;
  /** Largest headline p99 of a passing trial, us. @defaultValue no bound */
  maxP99Us?: number;
  /** Measured time of one trial, ms. @defaultValue 1000 */
  trialMs?: number;
  /** First offered rate of the ramp, per second. @defaultValue 1000 */
  startRate?: number;
  /** Highest rate the search tries, per second. @defaultValue 1000000 */
  maxRate?: number;
  /** Most trials in all (ramp, bisection and repeats). @defaultValue 24 */
  maxTrials?: number;
  /** Time budget of the whole search, ms: no trial starts that could not end within it. @defaultValue 50000 */
  budgetMs?: number;
  /** Trials repeated at the final rate for the spread. @defaultValue 2 */
  repeats?: number;
  /** The bisection stops when (fail - pass) / pass is at most this. @defaultValue 0.05 */
  resolution?: number;
  /** A trial whose generator was unhealthy is inconclusive and runs again, at most this many times. @defaultValue 2 */
  healthRetries?: number;
}

/** Every default of the search (and of its trials' warm-up and drain). */
export const SEARCH_DEFAULTS = Object.freeze({
  maxLossPercent: 0.1,
  trialMs: 1000,
  warmupMs: 250,
  drainMs: 250,
  startRate: 1000,
  maxRate: 1_000_000,
  maxTrials: 24,
  budgetMs: 50_000,
  repeats: 2,
  resolution: 0.05,
  healthRetries: 2,
});

/** Bounds [min, max] of the search settings (those in SEARCH_INTEGERS take whole numbers only). */
export const SEARCH_LIMITS = Object.freeze({
  maxLossPercent: [0, 100],
  maxP99Us: [1, 60_000_000],
  trialMs: [100, 60_000],
  startRate: LOAD_LIMITS.rate,
  maxRate: LOAD_LIMITS.rate,
  maxTrials: [1, 200],
  budgetMs: [1000, 3_600_000],
  repeats: [0, 20],
  resolution: [0.001, 1],
  healthRetries: [0, 10],
} as const satisfies Record<keyof SearchSettings, readonly [number, number]>);

/** The settings of SEARCH_LIMITS that are counts or whole milliseconds/microseconds. */
const SEARCH_INTEGERS: ReadonlySet<keyof SearchSettings> = new Set([
  'maxP99Us',
  'trialMs',
  'maxTrials',
  'budgetMs',
  'repeats',
  'healthRetries',
]);

/** What `echolot load` runs, as one object: one load run, or (mode 'search') a search with `search`. */
export interface LoadPlan extends Omit<LoadOptions, 'mode'> {
  /** @defaultValue 'rate' */
  mode?: PlanMode;
  /** The search's settings: with mode 'search' only. @defaultValue SEARCH_DEFAULTS */
  search?: SearchSettings;
}

/** SearchSettings with every default applied and every value checked. */
export type ResolvedSearchSettings = Readonly<Required<Omit<SearchSettings, 'maxP99Us'>>> & {
  readonly maxP99Us?: number;
};

/** A LoadPlan resolved: the options of the run (of every trial, in a search) and the search's settings. */
export type ResolvedLoadPlan =
  | { readonly mode: LoadMode; readonly options: ResolvedLoadOptions }
  | {
      readonly mode: 'search';
      readonly options: ResolvedLoadOptions;
      readonly search: ResolvedSearchSettings;
    };

/** One trial of the search. */
export interface SearchTrial {
  readonly phase: 'ramp' | 'bisect' | 'repeat';
  /** Offered datagrams per second. */
  readonly offered: number;
  /** Achieved echoes per second (unique replies). */
  readonly achieved: number;
  /** Loss, percent of sent. */
  readonly lossPercent: number;
  /** Headline (response) p99, us; null when nothing was answered. */
  readonly p99Us: number | null;
  /** The generator was not the bottleneck. */
  readonly healthy: boolean;
  /** Loss, p99 and health all within the criteria. */
  readonly passed: boolean;
  /** Why the trial failed, one phrase per criterion missed. */
  readonly reasons: readonly string[];
  readonly runId: string;
}

/**
 * What limited the search: the server (a rate failed on loss or p99), the generator, maxRate, the
 * trial/time budget, or a signal (`options.signal` aborted: the trials so far are kept).
 */
export type SearchLimit = 'server' | 'generator' | 'max-rate' | 'budget' | 'interrupted';

/** The outcome of a search. */
export interface SearchResult {
  readonly mode: 'search';
  /** The search's id (its report directory); each trial has its own runId too. */
  readonly runId: string;
  readonly target: LoadResult['target'];
  readonly startedAt: string;
  readonly durationMs: number;
  readonly criteria: {
    readonly maxLossPercent: number;
    readonly maxP99Us: number | null;
    readonly trialMs: number;
    readonly warmupMs: number;
    readonly drainMs: number;
  };
  /** The highest offered rate that passed; null when none did. */
  readonly foundRate: number | null;
  /** The lowest offered rate that failed; null when none did. */
  readonly failedRate: number | null;
  readonly limitedBy: SearchLimit;
  /** One sentence: what was found and what limited it. */
  readonly statement: string;
  readonly trials: readonly SearchTrial[];
  /** The spread over the repeats at the found rate (absent when nothing passed or repeats = 0). */
  readonly spread?: {
    readonly offered: number;
    readonly trials: number;
    readonly passed: number;
    readonly achieved: { readonly min: number; readonly max: number; readonly mean: number };
    readonly lossPercent: { readonly min: number; readonly max: number };
    readonly p99Us: { readonly min: number | null; readonly max: number | null };
  };
  /** The last trial at the found rate (thresholds are judged on it); absent when nothing passed. */
  readonly final?: LoadResult;
  /** Set when `options.signal` ended the search early: the abort reason (the CLI's signal name). */
  readonly interrupted?: string;
}

const PLAN_MODES: readonly PlanMode[] = [...LOAD_MODES, 'search'];

/**
 * Every problem of a search: its settings (paths `search.*`) and the load options of its trials, which
 * are rate runs of `trialMs` each (so no `durationMs`, and no mode but rate).
 */
function searchProblems(s: SearchSettings, options: LoadOptions): Problem[] {
  const problems: Problem[] = [];
  if (options.mode !== undefined && options.mode !== 'rate') {
    problems.push({
      path: 'mode',
      value: options.mode,
      message: "must be rate or absent: a search's trials are rate runs",
    });
  }
  problems.push(...loadOptionProblems(options, 'search'));
  if (typeof s !== 'object' || s === null) {
    problems.push({ path: 'search', value: s, message: 'must be an object of search settings' });
    return problems;
  }
  for (const [key, [lo, hi]] of Object.entries(SEARCH_LIMITS) as [
    keyof SearchSettings,
    readonly [number, number],
  ][]) {
    const v = s[key];
    if (v === undefined) continue;
    const integer = SEARCH_INTEGERS.has(key);
    if (
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      v < lo ||
      v > hi ||
      (integer && !Number.isInteger(v))
    ) {
      problems.push({
        path: `search.${key}`,
        value: v,
        message: `must be ${integer ? 'an integer' : 'a number'} in ${lo}..${hi}`,
        range: [lo, hi],
      });
    }
  }
  if (s.startRate !== undefined && options.rate !== undefined && s.startRate !== options.rate) {
    problems.push({
      path: 'search.startRate',
      value: s.startRate,
      message: `the start rate is given twice: here and as \`rate\` (${options.rate}); give one`,
    });
  }
  const startRate = s.startRate ?? options.rate ?? SEARCH_DEFAULTS.startRate;
  const maxRate = s.maxRate ?? SEARCH_DEFAULTS.maxRate;
  const rateProblem = problems.some((p) => ['rate', 'search.startRate', 'search.maxRate'].includes(p.path));
  if (!rateProblem && startRate > maxRate) {
    problems.push({
      path: s.startRate === undefined ? 'rate' : 'search.startRate',
      value: startRate,
      message: `the search's start rate must be at most \`search.maxRate\` (${maxRate})`,
    });
  }
  return problems;
}

/**
 * Applies the defaults and validates a search: its settings and the load options of its trials
 * (`options.rate` is the start rate unless `startRate` is given). Throws one ERR_ECHOLOT_USAGE listing
 * every problem.
 */
export function resolveSearchSettings(
  s: SearchSettings = {},
  options: LoadOptions = {},
): ResolvedSearchSettings {
  throwIfProblems(searchProblems(s, options));
  return Object.freeze({
    maxLossPercent: s.maxLossPercent ?? SEARCH_DEFAULTS.maxLossPercent,
    trialMs: s.trialMs ?? SEARCH_DEFAULTS.trialMs,
    startRate: s.startRate ?? options.rate ?? SEARCH_DEFAULTS.startRate,
    maxRate: s.maxRate ?? SEARCH_DEFAULTS.maxRate,
    maxTrials: s.maxTrials ?? SEARCH_DEFAULTS.maxTrials,
    budgetMs: s.budgetMs ?? SEARCH_DEFAULTS.budgetMs,
    repeats: s.repeats ?? SEARCH_DEFAULTS.repeats,
    resolution: s.resolution ?? SEARCH_DEFAULTS.resolution,
    healthRetries: s.healthRetries ?? SEARCH_DEFAULTS.healthRetries,
    ...(s.maxP99Us === undefined ? {} : { maxP99Us: s.maxP99Us }),
  });
}

/** The load options of every trial of a search with settings `s`. */
function trialOptions(options: LoadOptions, s: ResolvedSearchSettings): LoadOptions {
  return {
    ...options,
    mode: 'rate',
    rate: s.startRate,
    durationMs: s.trialMs,
    warmupMs: options.warmupMs ?? SEARCH_DEFAULTS.warmupMs,
    drainMs: options.drainMs ?? SEARCH_DEFAULTS.drainMs,
    intervalMs: Math.max(100, Math.min(options.intervalMs ?? 1000, s.trialMs)),
  };
}

/**
 * Applies the defaults and validates a whole plan: a load run, or a search and its trials. Settings
 * that do not apply to the mode (rate in flood, search settings outside a search, ...) are problems,
 * never silently ignored. Throws one ERR_ECHOLOT_USAGE listing every problem.
 */
export function resolveLoadPlan(plan: LoadPlan = {}): ResolvedLoadPlan {
  const { mode = LOAD_DEFAULTS.mode, search, ...options } = plan;
  const wrongMode = modeProblem(mode, PLAN_MODES);
  if (wrongMode !== undefined) throwIfProblems([wrongMode, ...loadOptionProblems(options, undefined)]);
  if (mode === 'search') {
    const s = resolveSearchSettings(search ?? {}, options);
    return { mode, options: resolveLoadOptions(trialOptions(options, s)), search: s };
  }
  const misplaced: Problem[] = Object.entries(search ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([key, value]) => ({
      path: `search.${key}`,
      value,
      message: `applies to \`mode\` search only, not to \`mode\` ${mode}`,
    }));
  throwIfProblems([...misplaced, ...loadOptionProblems({ ...options, mode }, mode)]);
  return { mode, options: resolveLoadOptions({ ...options, mode }) };
}

const round = (x: number): number => Math.round(x * 10) / 10;

/** Grades one trial against the criteria. */
function judge(phase: SearchTrial['phase'], r: LoadResult, s: ResolvedSearchSettings): SearchTrial {
  const sent = r.counters.sent;
  const lossPercent = sent === 0 ? 100 : (100 * r.counters.lost) / sent;
  const p99 = r.response.count === 0 ? null : r.response.p99;
  const reasons: string[] = [];
  if (sent === 0) reasons.push('nothing was sent');
  else if (lossPercent > s.maxLossPercent)
    reasons.push(`loss ${lossPercent.toPrecision(3)}% > ${s.maxLossPercent}%`);
  if (s.maxP99Us !== undefined && (p99 === null || p99 > s.maxP99Us))
    reasons.push(`p99 ${p99 === null ? 'none' : `${p99} us`} > ${s.maxP99Us} us`);
  const healthy = !r.generator.bottleneck;
  if (!healthy) reasons.push(`generator not healthy: ${r.generator.reasons.join('; ')}`);
  return {
    phase,
    offered: r.rates.offered,
    achieved: r.rates.echoes,
    lossPercent: Math.round(lossPercent * 1000) / 1000,
    p99Us: p99,
    healthy,
    passed: reasons.length === 0,
    reasons,
    runId: r.runId,
  };
}

/**
 * Runs a search; usage problems throw ERR_ECHOLOT_USAGE before any traffic, a given target that does
 * not answer the preflight (run once, before the first trial) ERR_ECHOLOT_UNREACHABLE.
 */
export async function runSearch(
  options: LoadOptions = {},
  settings: SearchSettings = {},
  onTrial?: (t: SearchTrial) => void,
  internals: LoadInternals = {},
): Promise<SearchResult> {
  const s = resolveSearchSettings(settings, options);
  const base = trialOptions(options, s);
  const { onInterval: _i, ...checked } = base;
  const o = resolveLoadOptions(checked);
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const acquired = await acquireTarget(o.target, {
    embedded: 'child',
    // Once, before the first trial: a trial against a target the previous one overloaded is not preflighted.
    ...(o.target === undefined || options.preflight === false ? {} : { preflight: DEFAULT_PREFLIGHT }),
    admit: (t) => {
      // A search pushes the rate up until something breaks: only towards a target the user owns.
      if (!ownsTarget(t, o.ownTarget)) {
        throw validationError([
          {
            path: 'mode',
            value: 'search',
            message:
              `against ${t.address}, which is not a loopback address: the search raises the rate until the ` +
              'target fails; you must confirm that you own the target with `ownTarget`',
          },
        ]);
      }
    },
  });
  try {
    const { address, port, embedded } = acquired.target;
    const targetText = embedded ? formatEndpoint(address, port) : (o.target ?? formatEndpoint(address, port));
    const trials: SearchTrial[] = [];
    const results = new Map<string, LoadResult>();
    // Each trial: set-up, warm-up, measurement, drain; kept within the budget with a margin.
    const trialCostMs = o.warmupMs + s.trialMs + o.drainMs + 300;
    const signal = options.signal;
    const canRun = (): boolean =>
      !(signal?.aborted ?? false) &&
      trials.length < s.maxTrials &&
      Date.now() - started + trialCostMs <= s.budgetMs;
    // An unhealthy generator makes a trial inconclusive, not a failure of the server: run it again
    // (a scheduling hiccup passes), and only a persistently unhealthy generator ends the search.
    // A trial cut short by the signal is not judged (it measured less than the trial time): undefined.
    const trial = async (phase: SearchTrial['phase'], rate: number): Promise<SearchTrial | undefined> => {
      for (let attempt = 0; ; attempt++) {
        const r = await runLoad(
          { ...base, target: targetText, rate: Math.round(rate * 10) / 10, preflight: false },
          internals,
        );
        if (r.interrupted !== undefined) return undefined;
        const t = judge(phase, r, s);
        trials.push(t);
        results.set(t.runId, r);
        onTrial?.(t);
        if (t.healthy || attempt >= s.healthRetries || !canRun()) return t;
      }
    };

    let pass: number | undefined;
    let fail: SearchTrial | undefined;
    let budgetHit = false;
    // Ramp: double until a trial fails or the ceiling passes.
    let rate = s.startRate;
    for (;;) {
      if (!canRun()) {
        budgetHit = true;
        break;
      }
      const t = await trial('ramp', rate);
      if (t === undefined) break;
      if (!t.passed) {
        fail = t;
        break;
      }
      pass = rate;
      if (rate >= s.maxRate) break;
      rate = Math.min(rate * 2, s.maxRate);
    }
    // Bisection between the highest pass (or 0) and the lowest fail. A generator failure ends the
    // search: below it, nothing more could be learnt about the server than what already passed.
    while (fail?.healthy === true && !budgetHit) {
      const lo = pass ?? 0;
      if (lo > 0 && (fail.offered - lo) / lo <= s.resolution) break;
      if (lo === 0 && fail.offered <= LOAD_LIMITS.rate[0] * 2) break;
      if (!canRun()) {
        budgetHit = true;
        break;
      }
      const mid = lo === 0 ? fail.offered / 2 : (lo + fail.offered) / 2;
      const t = await trial('bisect', mid);
      if (t === undefined) break;
      if (t.passed) pass = mid;
      else fail = t;
    }
    // Repeats at the found rate: the spread.
    const repeats: SearchTrial[] = [];
    if (pass !== undefined) {
      for (let i = 0; i < s.repeats && canRun(); i++) {
        const t = await trial('repeat', pass);
        if (t !== undefined) repeats.push(t);
      }
    }
    const foundRate = pass === undefined ? null : Math.round(pass * 10) / 10;
    const interrupted = signal?.aborted === true ? interruptReason(signal) : undefined;
    const limitedBy: SearchLimit = interrupted
      ? 'interrupted'
      : fail
        ? fail.healthy
          ? 'server'
          : 'generator'
        : budgetHit
          ? 'budget'
          : 'max-rate';
    const rateText = (x: number): string => `${Math.round(x).toLocaleString('en-US')}/s`;
    const criteria = `loss <= ${s.maxLossPercent}%${s.maxP99Us === undefined ? '' : `, p99 <= ${s.maxP99Us} us`}`;
    let statement: string;
    if (interrupted !== undefined) {
      const done = `${trials.length} trial${trials.length === 1 ? '' : 's'}`;
      statement =
        `interrupted by ${interrupted} after ${done}: ` +
        (foundRate === null
          ? `no rate met ${criteria} yet`
          : `the server met ${criteria} up to ${rateText(foundRate)} (a lower bound)`) +
        (fail ? `; at ${rateText(fail.offered)} it did not (${fail.reasons.join('; ')})` : '');
    } else if (limitedBy === 'generator') {
      statement =
        `the generator, not the server, limited the search: at ${rateText(fail?.offered ?? 0)} the generator was the bottleneck ` +
        `(${fail?.reasons.join('; ') ?? ''}); ` +
        (foundRate === null
          ? 'no rate passed, so nothing is claimed about the server'
          : `the server met ${criteria} up to ${rateText(foundRate)}, a lower bound of its capacity, not its capacity`);
    } else if (foundRate === null) {
      statement = `no offered rate met ${criteria}${fail ? ` (the lowest tried, ${rateText(fail.offered)}: ${fail.reasons.join('; ')})` : ''}${budgetHit ? '; the trial or time budget ended the search' : ''}`;
    } else if (limitedBy === 'server') {
      statement = `the server met ${criteria} up to ${rateText(foundRate)}; at ${rateText(fail?.offered ?? 0)} it did not (${fail?.reasons.join('; ') ?? ''})`;
    } else if (limitedBy === 'max-rate') {
      statement = `the server met ${criteria} at every rate tried, up to --max-rate ${rateText(foundRate)}: its capacity is higher`;
    } else {
      statement = `the trial or time budget ended the search: the server met ${criteria} up to ${rateText(foundRate)} (a lower bound)`;
    }
    const atFound = trials.filter(
      (t) => foundRate !== null && t.passed && Math.abs(t.offered - foundRate) < 0.2,
    );
    const lastAtFound = [...repeats, ...atFound].pop();
    const span = <T>(xs: readonly T[], f: (t: T) => number): { min: number; max: number } => ({
      min: Math.min(...xs.map(f)),
      max: Math.max(...xs.map(f)),
    });
    const p99s = repeats.map((t) => t.p99Us).filter((p): p is number => p !== null);
    const finalResult = lastAtFound ? results.get(lastAtFound.runId) : undefined;
    return {
      mode: 'search',
      runId: newRunId(new Date(started)),
      target: { input: embedded ? 'embedded' : targetText, address, port, embedded },
      startedAt,
      durationMs: Date.now() - started,
      criteria: {
        maxLossPercent: s.maxLossPercent,
        maxP99Us: s.maxP99Us ?? null,
        trialMs: s.trialMs,
        warmupMs: o.warmupMs,
        drainMs: o.drainMs,
      },
      foundRate,
      failedRate: fail ? fail.offered : null,
      limitedBy,
      statement,
      ...(interrupted === undefined ? {} : { interrupted }),
      trials,
      ...(repeats.length > 0 && foundRate !== null
        ? {
            spread: {
              offered: foundRate,
              trials: repeats.length,
              passed: repeats.filter((t) => t.passed).length,
              achieved: {
                ...span(repeats, (t) => t.achieved),
                mean: round(repeats.reduce((a, t) => a + t.achieved, 0) / repeats.length),
              },
              lossPercent: span(repeats, (t) => t.lossPercent),
              p99Us:
                p99s.length === 0
                  ? { min: null, max: null }
                  : { min: Math.min(...p99s), max: Math.max(...p99s) },
            },
          }
        : {}),
      ...(finalResult ? { final: embedded ? withEmbedded(finalResult) : finalResult } : {}),
    };
  } finally {
    await acquired.close();
  }
}

/** The trial ran against the search's own embedded server: say so in its result. */
function withEmbedded(r: LoadResult): LoadResult {
  return { ...r, target: { ...r.target, input: 'embedded', embedded: true } };
}
