/** A load run's raw measurement: its histograms and interval series as data, beside its LoadResult. */
import type { IntervalWire } from './intervals.js';
import type { LatencyWire } from './latency.js';
import type { ShareOutcome } from './share.js';
import type { LoadResult } from './types.js';

/** What a run measured beyond its LoadResult, as data: what a shard of a distributed run hands to the merge. */
export interface LoadRaw {
  /** The HDR histograms (hdr-histogram-js compressed encoding) and exact moments of the three distributions. */
  readonly response: LatencyWire;
  readonly service: LatencyWire;
  readonly sendLag: LatencyWire;
  /** The interval series' raw buckets (counts and a histogram each). */
  readonly series: IntervalWire;
  /** RFC 3550 jitter: the sum over flows of jitter times samples, and the samples. */
  readonly jitterSum: number;
  readonly jitterN: number;
  /** The run's start t0 (start of the warm-up) on the wall clock, epoch ms. */
  readonly t0EpochMs: number;
}

/** A run's LoadResult and its raw measurement. */
export interface DetailedLoad {
  readonly result: LoadResult;
  readonly raw: LoadRaw;
}

/** The raw measurement of a run whose shares `assemble` merged (into the first share). */
export function rawOf(merged: ShareOutcome, shares: readonly ShareOutcome[], t0EpochMs: number): LoadRaw {
  return {
    response: merged.response.toWire(),
    service: merged.service.toWire(),
    sendLag: merged.sendLag.toWire(),
    series: merged.series.toWire(),
    jitterSum: shares.reduce((a, s) => a + s.jitterSum, 0),
    jitterN: shares.reduce((a, s) => a + s.jitterN, 0),
    t0EpochMs,
  };
}
