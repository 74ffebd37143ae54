/** Latency recording: an HDR histogram (percentiles) plus exact min/max/mean/stdev, in microseconds. */
import hdr from 'hdr-histogram-js';
import type { LatencySummary } from './types.js';

/** Largest value the histograms track, us (60 s); larger values are clamped to it. */
export const HIGHEST_TRACKABLE_US = 60_000_000;

/** A LatencyRecorder as plain data: the HDR histogram compressed (hdr-histogram-js encoding) plus the exact moments. */
export interface LatencyWire {
  readonly histogram: string;
  readonly n: number;
  readonly lo: number;
  readonly hi: number;
  readonly sum: number;
  readonly sumSq: number;
}

/** One latency distribution. */
export class LatencyRecorder {
  private readonly histogram: ReturnType<typeof hdr.build>;

  /** `digits`: significant decimal digits the histogram keeps (3 = 0.1%; the interval series use 2, a tenth of the memory). */
  constructor(digits: 1 | 2 | 3 | 4 | 5 = 3) {
    this.histogram = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: HIGHEST_TRACKABLE_US,
      numberOfSignificantValueDigits: digits,
      autoResize: false,
    });
  }
  private n = 0;
  private lo = Infinity;
  private hi = 0;
  private sum = 0;
  private sumSq = 0;

  /** Records one value in microseconds (negative values, from clock skew, count as 0). */
  record(us: number): void {
    const v = us < 0 ? 0 : us > HIGHEST_TRACKABLE_US ? HIGHEST_TRACKABLE_US : us;
    this.histogram.recordValue(Math.round(v));
    this.n++;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
    this.sum += v;
    this.sumSq += v * v;
  }

  /** Values recorded. */
  get count(): number {
    return this.n;
  }

  /** The value at a percentile (0..100), us; 0 when empty. */
  percentile(p: number): number {
    return this.n === 0 ? 0 : this.histogram.getValueAtPercentile(p);
  }

  /** Merges another recorder into this one. */
  add(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
    this.mergeMoments(other.n, other.lo, other.hi, other.sum, other.sumSq);
  }

  private mergeMoments(n: number, lo: number, hi: number, sum: number, sumSq: number): void {
    this.n += n;
    this.lo = Math.min(this.lo, lo);
    this.hi = Math.max(this.hi, hi);
    this.sum += sum;
    this.sumSq += sumSq;
  }

  /** A structured-clone-safe copy (the histogram compressed to base64), to cross a worker_threads boundary. */
  toWire(): LatencyWire {
    return {
      histogram: this.n === 0 ? '' : hdr.encodeIntoCompressedBase64(this.histogram),
      n: this.n,
      lo: this.lo,
      hi: this.hi,
      sum: this.sum,
      sumSq: this.sumSq,
    };
  }

  /** Merges a recorder that crossed a thread boundary (see toWire). */
  addWire(w: LatencyWire): void {
    if (w.n === 0) return;
    const decoded = hdr.decodeFromCompressedBase64(w.histogram);
    this.histogram.add(decoded);
    decoded.destroy();
    this.mergeMoments(w.n, w.lo, w.hi, w.sum, w.sumSq);
  }

  /** The summary of the contract; percentiles from the histogram, the rest exact (rounded to 0.1 us). */
  summary(): LatencySummary {
    if (this.n === 0) return EMPTY_SUMMARY;
    const mean = this.sum / this.n;
    const variance = Math.max(0, this.sumSq / this.n - mean * mean);
    const r = (x: number): number => Math.round(x * 10) / 10;
    return {
      count: this.n,
      min: r(this.lo),
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      p9999: this.percentile(99.99),
      max: r(this.hi),
      mean: r(mean),
      stdev: r(Math.sqrt(variance)),
    };
  }
}

/** The summary of an empty distribution. */
export const EMPTY_SUMMARY: LatencySummary = Object.freeze({
  count: 0,
  min: 0,
  p50: 0,
  p90: 0,
  p99: 0,
  p999: 0,
  p9999: 0,
  max: 0,
  mean: 0,
  stdev: 0,
});
