/**
 * k6-like pass/fail gates of a load run (`--threshold 'p99<2ms'`), parsed once and evaluated
 * against a LoadResult. The grammar is documented in docs/load.md:
 *
 *   threshold := [scope "."] metric op value
 *   scope     := "response" | "service" | "lag"          (latency metrics only; default response)
 *   metric    := p50 | p90 | p99 | p99.9 | p99.99 | min | max | mean | stdev | jitter  (latency)
 *              | loss | late | duplicates | reordered | corrupted | truncated | foreign | icmp (counters)
 *              | rate | sent-rate                                                       (per second)
 *   op        := "<" | "<=" | ">" | ">=" | "=="
 *   value     := number unit   latency: ns | us | µs | ms | s (required), compared in microseconds
 *              | number "%"    counters: percent of the datagrams sent
 *              | number        counters: an absolute count
 *              | number [k|M]  rates: per second (an optional "/s" suffix)
 */
import { HarnessError, throwIfProblems, validationError, type Problem } from '../errors.js';
import type { LatencySummary, LoadCounters, LoadResult } from './types.js';

/** Comparison operators a threshold may use. */
export type ThresholdOperator = '<' | '<=' | '>' | '>=' | '==';

/** What a threshold's number means: microseconds, a percentage of sent, an absolute count, or per second. */
export type ThresholdKind = 'latency' | 'ratio' | 'count' | 'rate';

/** Which latency distribution a latency threshold reads: the headline (intended send), service (actual send), or the generator's send lag. */
export type LatencyScope = 'response' | 'service' | 'lag';

/** One parsed threshold. `limit` is in the kind's unit: us, percent, count, or per second. */
export interface Threshold {
  /** The expression as the user wrote it. */
  readonly source: string;
  readonly kind: ThresholdKind;
  /** Canonical metric name (p99.9, loss, rate, ...). */
  readonly metric: string;
  /** Set on latency thresholds other than jitter. */
  readonly scope?: LatencyScope;
  readonly op: ThresholdOperator;
  readonly limit: number;
}

/** One evaluated threshold: the value measured (NaN when the run gives no basis for it) and whether it holds. */
export interface ThresholdOutcome {
  readonly threshold: Threshold;
  readonly actual: number;
  readonly ok: boolean;
}

const PERCENTILES: Readonly<Record<string, keyof LatencySummary>> = {
  min: 'min',
  p50: 'p50',
  p90: 'p90',
  p99: 'p99',
  'p99.9': 'p999',
  'p99.99': 'p9999',
  max: 'max',
  mean: 'mean',
  stdev: 'stdev',
};

const COUNTERS: Readonly<Record<string, keyof LoadCounters>> = {
  loss: 'lost',
  late: 'late',
  duplicates: 'duplicates',
  reordered: 'reordered',
  corrupted: 'corrupted',
  truncated: 'truncated',
  foreign: 'foreign',
  icmp: 'icmpErrors',
};

const RATES = new Set(['rate', 'sent-rate']);

const LATENCY_UNITS: Readonly<Record<string, number>> = { ns: 0.001, us: 1, µs: 1, ms: 1000, s: 1_000_000 };

/** Every metric name the grammar accepts, for error messages and help. */
export const THRESHOLD_METRICS: readonly string[] = Object.freeze([
  ...Object.keys(PERCENTILES),
  'jitter',
  ...Object.keys(COUNTERS),
  ...RATES,
]);

const SHAPE = /^\s*(?:(response|service|lag)\.)?([a-z][a-z0-9.-]*?)\s*(<=|>=|==|<|>)\s*(\S.*?)\s*$/;
const NUMBER = /^(\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?/i;

/** An expression that breaks a rule of the grammar (parseThreshold throws it; parseThresholds collects them). */
class ThresholdProblem extends Error {
  constructor(readonly rule: string) {
    super(rule);
  }
}

/**
 * Parses one threshold expression; throws a usage error whose problem names the expression (path
 * `threshold`), the rule broken and the value.
 */
export function parseThreshold(source: string): Threshold {
  return parseAt('threshold', source);
}

/** parseThreshold with the problem's path given (`thresholds[2]` in a list). */
function parseAt(path: string, source: string): Threshold {
  try {
    return parseExpression(source);
  } catch (err) {
    if (!(err instanceof ThresholdProblem)) throw err;
    throw validationError([{ path, value: source, message: err.rule }]);
  }
}

function parseExpression(source: string): Threshold {
  const m = SHAPE.exec(source);
  if (!m) {
    throw new ThresholdProblem(
      'must be METRIC OP VALUE with OP one of < <= > >= == (e.g. p99<2ms, loss<0.1%, rate>=50000)',
    );
  }
  const [, scopeText, metric = '', op = '<', valueText = ''] = m;
  const scope = scopeText as LatencyScope | undefined;
  if (!THRESHOLD_METRICS.includes(metric)) {
    throw new ThresholdProblem(`unknown metric '${metric}' (known: ${THRESHOLD_METRICS.join(', ')})`);
  }
  const num = NUMBER.exec(valueText);
  if (!num) throw new ThresholdProblem(`value '${valueText}' is not a number with an optional unit`);
  const n = Number(num[0]);
  const unit = valueText.slice(num[0].length).trim();
  const base = { source: source.trim(), metric, op: op as ThresholdOperator };

  if (metric in PERCENTILES || metric === 'jitter') {
    if (metric === 'jitter' && scope !== undefined) {
      throw new ThresholdProblem(`jitter takes no scope, got '${scope}.'`);
    }
    const factor = LATENCY_UNITS[unit];
    if (factor === undefined) {
      throw new ThresholdProblem(`latency '${valueText}' needs a unit: ns, us, ms or s (e.g. ${metric}<2ms)`);
    }
    return {
      ...base,
      kind: 'latency',
      ...(metric === 'jitter' ? {} : { scope: scope ?? 'response' }),
      limit: n * factor,
    };
  }
  if (scope !== undefined) {
    throw new ThresholdProblem(`scope '${scope}.' applies to latency metrics only, not to '${metric}'`);
  }
  if (metric in COUNTERS) {
    if (unit === '%') {
      if (n > 100) throw new ThresholdProblem(`percentage '${valueText}' must be in 0..100%`);
      return { ...base, kind: 'ratio', limit: n };
    }
    if (unit !== '') {
      throw new ThresholdProblem(
        `'${valueText}': ${metric} takes a count (e.g. 0) or a percentage of sent (e.g. 0.1%)`,
      );
    }
    return { ...base, kind: 'count', limit: n };
  }
  const rateUnit = unit.replace(/\/s$/, '');
  const multiplier = rateUnit === '' ? 1 : rateUnit === 'k' ? 1000 : rateUnit === 'M' ? 1_000_000 : undefined;
  if (multiplier === undefined) {
    throw new ThresholdProblem(
      `'${valueText}': ${metric} takes datagrams per second (e.g. 50000, 50k, 1.5M)`,
    );
  }
  return { ...base, kind: 'rate', limit: n * multiplier };
}

/** Parses a list of threshold expressions; one usage error lists every bad one (paths `thresholds[i]`). */
export function parseThresholds(sources: readonly string[]): Threshold[] {
  const problems: Problem[] = [];
  const parsed = sources.flatMap((source, i) => {
    try {
      return [parseAt(`thresholds[${i}]`, source)];
    } catch (err) {
      if (!(err instanceof HarnessError) || err.problems === undefined) throw err;
      problems.push(...err.problems);
      return [];
    }
  });
  throwIfProblems(problems);
  return parsed;
}

const compare = (actual: number, op: ThresholdOperator, limit: number): boolean => {
  if (Number.isNaN(actual)) return false;
  switch (op) {
    case '<':
      return actual < limit;
    case '<=':
      return actual <= limit;
    case '>':
      return actual > limit;
    case '>=':
      return actual >= limit;
    case '==':
      return actual === limit;
  }
};

/** The figure a threshold reads from a result, in the threshold's unit; NaN when there is nothing to judge (no replies, nothing sent). */
export function thresholdActual(result: LoadResult, t: Threshold): number {
  switch (t.kind) {
    case 'latency': {
      if (t.metric === 'jitter') return result.counters.unique === 0 ? NaN : result.jitterUs;
      const summary =
        t.scope === 'service' ? result.service : t.scope === 'lag' ? result.sendLag : result.response;
      // A run with no replies has no latency; an empty histogram's zeros must not pass a bound.
      if (summary.count === 0) return NaN;
      return summary[PERCENTILES[t.metric] ?? 'max'];
    }
    case 'ratio': {
      const sent = result.counters.sent;
      return sent === 0 ? NaN : (result.counters[COUNTERS[t.metric] ?? 'lost'] / sent) * 100;
    }
    case 'count':
      return result.counters[COUNTERS[t.metric] ?? 'lost'];
    case 'rate':
      return t.metric === 'sent-rate' ? result.rates.sent : result.rates.echoes;
  }
}

/** Evaluates thresholds against a result (pure): one outcome per threshold, in order. */
export function evaluateThresholds(result: LoadResult, thresholds: readonly Threshold[]): ThresholdOutcome[] {
  return thresholds.map((threshold) => {
    const actual = thresholdActual(result, threshold);
    return { threshold, actual, ok: compare(actual, threshold.op, threshold.limit) };
  });
}

/** True when every threshold holds (vacuously true for none). */
export function thresholdsPassed(outcomes: readonly ThresholdOutcome[]): boolean {
  return outcomes.every((o) => o.ok);
}
