/**
 * The generator's memory under sustained load: a flood against the embedded reference server while
 * the harness's RSS is sampled every second. Passes when RSS stays below a bound and is flat (the mean
 * of the last 10 s within a tolerance of the mean of 10..20 s): no leak per datagram.
 */
import { runLoad } from './run-load.js';
import type { LoadResult } from './types.js';

/** Settings of a soak. */
export interface RssSoakOptions {
  /** Measured flood, s. @defaultValue 60 */
  readonly durationS?: number;
  /** Largest RSS allowed, MB. @defaultValue 300 */
  readonly limitMb?: number;
  /** Largest relative change between the early and the late window (flatness). @defaultValue 0.2 */
  readonly tolerance?: number;
  /** Flows and window of the flood. @defaultValue 4, 64 */
  readonly flows?: number;
  readonly window?: number;
}

/** One RSS sample. */
export interface RssSample {
  /** s since the flood started. */
  readonly atS: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
}

/** What a soak measured. */
export interface RssSoakResult {
  readonly samples: readonly RssSample[];
  readonly maxMb: number;
  /** Mean RSS of the early window (10..20 s of a 60 s run) and of the last 10 s; null when the run is too short to judge flatness (< 30 s). */
  readonly earlyMeanMb: number | null;
  readonly lateMeanMb: number | null;
  readonly ok: boolean;
  readonly reasons: readonly string[];
  readonly load: Pick<LoadResult, 'counters' | 'rates' | 'generator' | 'ioPath'>;
}

/** Shortest soak for which flatness is judged, s. */
export const MIN_FLATNESS_S = 30;

const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Runs the soak; samples RSS every second while the flood runs. */
export async function runRssSoak(options: RssSoakOptions = {}): Promise<RssSoakResult> {
  const durationS = options.durationS ?? 60;
  const limitMb = options.limitMb ?? 300;
  const tolerance = options.tolerance ?? 0.2;
  const samples: RssSample[] = [];
  const t0 = performance.now();
  const sample = (): void => {
    const m = process.memoryUsage();
    samples.push({
      atS: Math.round((performance.now() - t0) / 100) / 10,
      rssMb: mb(m.rss),
      heapUsedMb: mb(m.heapUsed),
    });
  };
  const timer = setInterval(sample, 1000);
  let result: LoadResult;
  try {
    sample();
    result = await runLoad({
      mode: 'flood',
      durationMs: durationS * 1000,
      flows: options.flows ?? 4,
      window: options.window ?? 64,
      drainMs: 500,
    });
    sample();
  } finally {
    clearInterval(timer);
  }
  const maxMb = Math.max(...samples.map((s) => s.rssMb));
  const reasons: string[] = [];
  if (maxMb >= limitMb) reasons.push(`RSS peaked at ${maxMb} MB, not below ${limitMb} MB`);
  let earlyMeanMb: number | null = null;
  let lateMeanMb: number | null = null;
  if (durationS >= MIN_FLATNESS_S) {
    // 10..20 s and the last 10 s of a 60 s run, scaled for other durations.
    const w = durationS / 6;
    const early = samples.filter((s) => s.atS >= w && s.atS < 2 * w).map((s) => s.rssMb);
    const late = samples.filter((s) => s.atS >= durationS - w && s.atS <= durationS).map((s) => s.rssMb);
    earlyMeanMb = Math.round(mean(early) * 10) / 10;
    lateMeanMb = Math.round(mean(late) * 10) / 10;
    const change = (lateMeanMb - earlyMeanMb) / earlyMeanMb;
    if (Math.abs(change) > tolerance) {
      reasons.push(
        `RSS not flat: last ${Math.round(w)} s mean ${lateMeanMb} MB vs ${earlyMeanMb} MB at ${Math.round(w)}..${Math.round(2 * w)} s (${Math.round(change * 100)}%, tolerance ${Math.round(tolerance * 100)}%)`,
      );
    }
  }
  return {
    samples,
    maxMb,
    earlyMeanMb,
    lateMeanMb,
    ok: reasons.length === 0,
    reasons,
    load: {
      counters: result.counters,
      rates: result.rates,
      generator: result.generator,
      ioPath: result.ioPath,
    },
  };
}
