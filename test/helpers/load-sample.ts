/** Pieces of synthetic LoadResults shared by the renderer, threshold and report tests. */
import { sumCounters } from '../../harness/load/counters.js';
import { LOAD_DEFAULTS } from '../../harness/load/options.js';
import type { LatencySummary, LoadCounters, LoadResult } from '../../harness/load/types.js';

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

/** The counters of a run that sent 10 000 and got 9 880 back, nothing else wrong; `extra` replaces what a test is about. */
export const sampleCounters = (extra: Partial<LoadCounters> = {}): LoadCounters => ({
  ...sumCounters([]),
  sent: 10_000,
  received: 9_880,
  unique: 9_880,
  lost: 120,
  ...extra,
});

/** A 1 s rate run against the embedded server: 10 000 sent, 9 880 echoed, 120 lost, p50 100.5 us. */
export const sampleLoadResult = (runId: string): LoadResult => ({
  runId,
  target: { input: '', address: '127.0.0.1', port: 40_000, embedded: true },
  mode: 'rate',
  options: sampleOptions(),
  startedAt: '2026-01-01T00:00:00.500Z',
  durationMs: 1000.4,
  counters: sampleCounters(),
  perFlow: [],
  rates: { offered: 10_000, echoes: 9_880, sent: 10_000 },
  response: sampleLatency(100.5),
  service: sampleLatency(70.25),
  sendLag: sampleLatency(5),
  jitterUs: 12.5,
  intervals: [],
  generator: { socketDrops: 0, rcvbufErrors: 0, sndbufErrors: 0, bottleneck: false, reasons: [] },
  lossAttribution: { generator: 0, networkOrServer: 120 },
  ioPath: 'dgram',
});
