/**
 * Shards of one distributed load run (docs/load.md "Shards"): shard I of N runs 1/N of the rate and
 * of the flows, in phase with the others, and writes its whole measurement as a shard document that
 * `mergeShards` (merge.ts) adds up exactly.
 */
import { hostname } from 'node:os';
import hdr from 'hdr-histogram-js';
import { HarnessError, type Problem } from '../errors.js';
import { HIGHEST_TRACKABLE_US, type LatencyWire } from './latency.js';
import { LOAD_DEFAULTS, resolveLoadOptions, type LoadInternals } from './options.js';
import type { DetailedLoad } from './raw.js';
import { shareOf } from './share.js';
import type { LoadOptions, LoadResult } from './types.js';

/** The `format` of a shard document, and its version (a reader refuses other versions). */
export const SHARD_FORMAT = 'echolot-load-shard';
export const SHARD_FORMAT_VERSION = 1;

/** Most shards of one run. */
export const MAX_SHARDS = 10_000;

/** What a run id may be (it names the report directory): letters, digits, `.`, `_`, `-`, 1..128 characters. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** How far ahead a start time may lie, ms (a farther one is a mistake, not a plan). */
export const START_AT_MAX_AHEAD_MS = 24 * 3_600_000;

/** Which shard of how many. */
export interface ShardSpec {
  /** 0-based, below count. */
  readonly index: number;
  readonly count: number;
}

/** The histogram settings every shard of a run must share (the merge refuses others). */
export interface HistogramConfig {
  /** How `encoded` is written: HdrHistogram's V2 compressed format in base64, as the Java, C and Python libraries decode it. */
  readonly encoding: 'HdrHistogram-V2-compressed-base64';
  readonly unit: 'us';
  readonly lowestDiscernibleValue: number;
  readonly highestTrackableValue: number;
  /** Significant digits of the run's three distributions. */
  readonly significantDigits: number;
  /** Significant digits of each interval's histogram. */
  readonly intervalSignificantDigits: number;
}

/** The histogram settings of this version of echolot (latency.ts, intervals.ts). */
export const HISTOGRAM_CONFIG: HistogramConfig = Object.freeze({
  encoding: 'HdrHistogram-V2-compressed-base64',
  unit: 'us',
  lowestDiscernibleValue: 1,
  highestTrackableValue: HIGHEST_TRACKABLE_US,
  significantDigits: 3,
  intervalSignificantDigits: 2,
});

/** One distribution of a shard: its histogram, and the exact moments the histogram rounds. */
export interface ShardHistogram {
  /** The HDR histogram, compressed and base64 (an empty histogram is encoded too). */
  readonly encoded: string;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly sumOfSquares: number;
}

/** One interval of a shard's series, at its absolute time. */
export interface ShardInterval {
  /** Start of the interval, epoch ms (the shard's measurement start plus whole intervals). */
  readonly atEpochMs: number;
  readonly sent: number;
  readonly received: number;
  readonly unique: number;
  /** Response times of the interval's unique replies. */
  readonly latency: ShardHistogram;
}

/** A shard's complete result, as `--out` writes it and `echolot merge` reads it. */
export interface ShardDocument {
  readonly format: typeof SHARD_FORMAT;
  readonly version: typeof SHARD_FORMAT_VERSION;
  readonly runId: string;
  readonly shard: ShardSpec;
  /** The host that ran the shard. */
  readonly host: string;
  readonly target: LoadResult['target'];
  readonly mode: LoadResult['mode'];
  /** The whole run's options (all shards together: the full rate and flows). */
  readonly plan: LoadResult['options'];
  /** This shard's own options (its part of the rate and of the flows). */
  readonly options: LoadResult['options'];
  /** `--start-at`, epoch ms, or null when the shard started as soon as it could. */
  readonly startAtEpochMs: number | null;
  /** When the shard actually started (t0, the start of the warm-up) after `startAtEpochMs`, ms (0 without one). */
  readonly startOffsetMs: number;
  readonly t0EpochMs: number;
  /** Start of the measurement (after the warm-up), epoch ms. */
  readonly measureStartEpochMs: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly histogram: HistogramConfig;
  readonly counters: LoadResult['counters'];
  readonly perFlow: LoadResult['perFlow'];
  readonly rates: LoadResult['rates'];
  readonly jitter: { readonly sum: number; readonly samples: number; readonly us: number };
  readonly histograms: {
    readonly response: ShardHistogram;
    readonly service: ShardHistogram;
    readonly sendLag: ShardHistogram;
  };
  readonly intervals: { readonly intervalMs: number; readonly buckets: readonly ShardInterval[] };
  readonly generator: LoadResult['generator'];
  readonly lossAttribution: LoadResult['lossAttribution'];
  readonly ioPath: string;
}

/** The flows of shard `index` of `count`: the flows split as evenly as they go, at least one each. */
export function shardFlows(flows: number, index: number, count: number): number {
  return Math.max(1, shareOf(flows, index, count).flowCount);
}

/** The flows of all shards together (at least one a shard: `count` when flows are fewer). */
export function totalShardFlows(flows: number, count: number): number {
  return Math.max(flows, count);
}

/**
 * The phase of shard `index` of `count` in a constant schedule at `rate` (the whole run's), ns: shard
 * I sends slots I, I+N, I+2N... of t_i = t0 + i/rate, so the merged arrivals are the plan's.
 */
export function shardPhaseNs(rate: number, index: number): number {
  return (index * 1e9) / rate;
}

/** The seed of a shard's Poisson arrivals: independent per shard, reproducible from the run id. */
export function shardSeed(runId: string, index: number): string {
  return `${runId}/shard-${index}`;
}

/** Problems of a shard spec, a run id and a start time (paths `shard`, `runId`, `startAtEpochMs`). */
export function shardRunProblems(
  run: { readonly shard?: ShardSpec; readonly runId?: string; readonly startAtEpochMs?: number },
  options: LoadOptions,
  nowMs: number = Date.now(),
): Problem[] {
  const problems: Problem[] = [];
  const s = run.shard;
  if (s !== undefined) {
    const okCount = Number.isInteger(s.count) && s.count >= 1 && s.count <= MAX_SHARDS;
    if (!okCount) {
      problems.push({
        path: 'shard.count',
        value: s.count,
        message: `must be an integer in 1..${MAX_SHARDS}`,
      });
    } else if (!Number.isInteger(s.index) || s.index < 0 || s.index >= s.count) {
      problems.push({
        path: 'shard.index',
        value: s.index,
        message: `must be an integer in 0..${s.count - 1} (0-based, below the shard count ${s.count})`,
      });
    }
    if ((options.mode as string | undefined) === 'search') {
      problems.push({
        path: 'shard',
        value: `${s.index}/${s.count}`,
        message: 'does not apply to `mode` search (a search is one process)',
      });
    }
  }
  if (run.runId !== undefined && !RUN_ID_PATTERN.test(run.runId)) {
    problems.push({
      path: 'runId',
      value: run.runId,
      message: 'must be 1..128 letters, digits, `.`, `_` or `-`, starting with a letter or digit',
    });
  }
  const at = run.startAtEpochMs;
  if (at !== undefined) {
    const runMs =
      (options.warmupMs ?? LOAD_DEFAULTS.warmupMs) + (options.durationMs ?? LOAD_DEFAULTS.durationMs);
    if (!Number.isFinite(at)) {
      problems.push({ path: 'startAtEpochMs', value: at, message: 'must be a time' });
    } else if (at < nowMs - runMs) {
      problems.push({
        path: 'startAtEpochMs',
        value: new Date(at).toISOString(),
        message: `is ${Math.round((nowMs - at) / 1000)} s in the past, more than the run lasts (${runMs / 1000} s): the run would be over`,
      });
    } else if (at > nowMs + START_AT_MAX_AHEAD_MS) {
      problems.push({
        path: 'startAtEpochMs',
        value: new Date(at).toISOString(),
        message: `must be at most 24 h ahead, not ${Math.round((at - nowMs) / 3_600_000)} h`,
      });
    }
  }
  return problems;
}

/** What shard `shard` of a run of `options` runs: its options and the engine's hooks for its schedule. */
export interface ShardRunPlan {
  readonly options: LoadOptions;
  readonly internals: LoadInternals;
}

/**
 * The options and hooks of shard `shard` of a run of `options` (the whole run's): 1/N of the rate and
 * of the flows, its phase (constant arrivals) or its own seed (Poisson), the start time, and the
 * safety cap judged on the whole run's rate.
 */
export function planShard(
  options: LoadOptions,
  shard: ShardSpec,
  runId: string,
  startAtEpochMs?: number,
): ShardRunPlan {
  const whole = resolveLoadOptions(options);
  const rated = whole.mode === 'rate';
  const shardOptions: LoadOptions = {
    ...options,
    flows: shardFlows(whole.flows, shard.index, shard.count),
    ...(rated ? { rate: whole.rate / shard.count } : {}),
  };
  const internals: LoadInternals = {
    ...(rated && whole.arrival === 'constant' ? { phaseNs: shardPhaseNs(whole.rate, shard.index) } : {}),
    ...(rated && whole.arrival === 'poisson' ? { seed: shardSeed(runId, shard.index) } : {}),
    ...(rated ? { safetyRate: whole.rate } : {}),
    ...(startAtEpochMs === undefined ? {} : { startAtEpochMs }),
  };
  return { options: shardOptions, internals };
}

/** An empty histogram of `digits`, encoded (cached: every empty interval would encode it again). */
const emptyEncoded = new Map<number, string>();
function encodedEmpty(digits: number): string {
  let e = emptyEncoded.get(digits);
  if (e === undefined) {
    const h = hdr.build({
      lowestDiscernibleValue: HISTOGRAM_CONFIG.lowestDiscernibleValue,
      highestTrackableValue: HISTOGRAM_CONFIG.highestTrackableValue,
      numberOfSignificantValueDigits: digits as 1 | 2 | 3 | 4 | 5,
      autoResize: false,
    });
    e = hdr.encodeIntoCompressedBase64(h);
    emptyEncoded.set(digits, e);
  }
  return e;
}

/** A recorder's wire form as a shard histogram. */
export function shardHistogram(w: LatencyWire, digits: number): ShardHistogram {
  return w.n === 0
    ? { encoded: encodedEmpty(digits), count: 0, min: 0, max: 0, sum: 0, sumOfSquares: 0 }
    : { encoded: w.histogram, count: w.n, min: w.lo, max: w.hi, sum: w.sum, sumOfSquares: w.sumSq };
}

/** A shard histogram as a recorder's wire form (what LatencyRecorder.addWire adds). */
export function wireOfShardHistogram(h: ShardHistogram): LatencyWire {
  return h.count === 0
    ? { histogram: '', n: 0, lo: Infinity, hi: 0, sum: 0, sumSq: 0 }
    : { histogram: h.encoded, n: h.count, lo: h.min, hi: h.max, sum: h.sum, sumSq: h.sumOfSquares };
}

/** The shard document of a run (runLoadDetailed's result) that ran as `shard` of the run `runId` planned by `options`. */
export function shardDocument(
  detailed: DetailedLoad,
  run: {
    readonly shard: ShardSpec;
    readonly runId: string;
    readonly options: LoadOptions;
    readonly startAtEpochMs?: number;
  },
): ShardDocument {
  const { result: r, raw } = detailed;
  const whole = resolveLoadOptions(run.options);
  const { target: _t, onInterval: _i, ...plan } = whole;
  const measureStartEpochMs = raw.t0EpochMs + r.options.warmupMs;
  const digits = HISTOGRAM_CONFIG.intervalSignificantDigits;
  const s = raw.series;
  const buckets: ShardInterval[] = Array.from({ length: r.intervals.length }, (_, b) => ({
    atEpochMs: measureStartEpochMs + b * r.options.intervalMs,
    sent: s.sent[b] ?? 0,
    received: s.received[b] ?? 0,
    unique: s.unique[b] ?? 0,
    latency: shardHistogram(s.latency[b] ?? EMPTY_WIRE, digits),
  }));
  const top = HISTOGRAM_CONFIG.significantDigits;
  return {
    format: SHARD_FORMAT,
    version: SHARD_FORMAT_VERSION,
    runId: run.runId,
    shard: { index: run.shard.index, count: run.shard.count },
    host: hostname(),
    target: r.target,
    mode: r.mode,
    plan: { ...plan, flows: totalShardFlows(whole.flows, run.shard.count) },
    options: r.options,
    startAtEpochMs: run.startAtEpochMs ?? null,
    startOffsetMs:
      run.startAtEpochMs === undefined ? 0 : Math.round((raw.t0EpochMs - run.startAtEpochMs) * 1000) / 1000,
    t0EpochMs: raw.t0EpochMs,
    measureStartEpochMs,
    startedAt: r.startedAt,
    durationMs: r.durationMs,
    histogram: HISTOGRAM_CONFIG,
    counters: r.counters,
    perFlow: r.perFlow,
    rates: r.rates,
    jitter: { sum: raw.jitterSum, samples: raw.jitterN, us: r.jitterUs },
    histograms: {
      response: shardHistogram(raw.response, top),
      service: shardHistogram(raw.service, top),
      sendLag: shardHistogram(raw.sendLag, top),
    },
    intervals: { intervalMs: r.options.intervalMs, buckets },
    generator: r.generator,
    lossAttribution: r.lossAttribution,
    ioPath: r.ioPath,
  };
}

const EMPTY_WIRE: LatencyWire = { histogram: '', n: 0, lo: Infinity, hi: 0, sum: 0, sumSq: 0 };

/**
 * The shard document as `--out` writes it: JSON on one line, newline-terminated, so that a shard
 * whose result goes to a log (`--out -`, deploy/kubernetes/collect.sh) is its last line.
 */
export function renderShardDocument(doc: ShardDocument): string {
  return `${JSON.stringify(doc)}\n`;
}

/** A shard file that is not one, or not of this version: ERR_ECHOLOT_DATA naming the file and the field. */
export function shardDataError(source: string, message: string): HarnessError {
  return new HarnessError('ERR_ECHOLOT_DATA', `${source}: ${message}`);
}
