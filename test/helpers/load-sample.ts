/** Pieces of synthetic LoadResults shared by the renderer, threshold and report tests. */
import { LOAD_DEFAULTS } from '../../harness/load/options.js';
import type { LatencySummary, LoadResult } from '../../harness/load/types.js';

/** A latency summary shaped around `p50` (each percentile a fixed multiple of it). */
export const sampleLatency = (p50: number, extra: Partial<LatencySummary> = {}): LatencySummary => ({
  count: 1000,
  min: p50 / 2,
  p50,
  p90: p50 * 2,
  p99: p50 * 4,
  p999: p50 * 8,
  p9999: p50 * 16,
  max: p50 * 32,
  mean: p50 * 1.2,
  stdev: p50 / 3,
  ...extra,
});

/** The resolved options of a 1 s rate run at 10 000/s with the defaults otherwise. */
export const sampleOptions = (extra: Partial<LoadResult['options']> = {}): LoadResult['options'] => ({
  ...LOAD_DEFAULTS,
  durationMs: 1000,
  ...extra,
});
