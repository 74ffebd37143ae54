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

/**
 * One latency distribution. Values are first counted in a plain typed array indexed exactly as the HDR
 * histogram indexes them (lowest discernible value 1, so the same buckets and the same precision), and
 * moved into the hdr-histogram-js histogram in one pass whenever it is read: recording is a few integer
 * operations instead of the library's per-value method calls, on the load generator's per-reply path.
 */
export class LatencyRecorder {
  private readonly histogram: ReturnType<typeof hdr.build>;
  /** log2 of half the sub-buckets per bucket: HDR's subBucketHalfCountMagnitude for these digits. */
  private readonly halfMag: number;
  /** Counts not yet in `histogram`, by HDR counts index; allocated on the first record after a flush. */
  private pending: Uint32Array | undefined;
  private pendingLo = Infinity;
  private pendingHi = -1;

  /** `digits`: significant decimal digits the histogram keeps (3 = 0.1%; the interval series use 2, a tenth of the memory). */
  constructor(digits: 1 | 2 | 3 | 4 | 5 = 3) {
    this.histogram = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: HIGHEST_TRACKABLE_US,
      numberOfSignificantValueDigits: digits,
      autoResize: false,
    });
    const subBucketCountMagnitude = Math.ceil(Math.log2(2 * Math.floor(10 ** digits)));
    this.halfMag = Math.max(subBucketCountMagnitude, 1) - 1;
  }
  private n = 0;
  private lo = Infinity;
  private hi = 0;
  private sum = 0;
  private sumSq = 0;

  /** HDR's counts index of integer value v (0 <= v <= HIGHEST_TRACKABLE_US < 2^32). */
  private indexOf(v: number): number {
    const halfMag = this.halfMag;
    // floor(log2(v)) - halfMag, at least 0: HDR's bucket index with unit magnitude 0.
    const bucket = Math.max(31 - Math.clz32(v) - halfMag, 0);
    return ((bucket + 1) << halfMag) + (v >>> bucket) - (1 << halfMag);
  }

  /** The lowest value of HDR counts index i (HDR's valueFromIndex). */
  private valueOf(i: number): number {
    const half = 2 ** this.halfMag;
    let bucket = Math.floor(i / half) - 1;
    let sub = (i % half) + half;
    if (bucket < 0) {
      sub -= half;
      bucket = 0;
    }
    return sub * 2 ** bucket;
  }

  /** Moves the pending counts into the HDR histogram (before any read of it). */
  private flush(): void {
    const p = this.pending;
    if (p === undefined) return;
    for (let i = this.pendingLo; i <= this.pendingHi; i++) {
      const c = p[i] as number;
      if (c !== 0) this.histogram.recordValueWithCount(this.valueOf(i), c);
    }
    // Freed, not cleared: a closed interval's recorder keeps only its histogram.
    this.pending = undefined;
    this.pendingLo = Infinity;
    this.pendingHi = -1;
  }

  /** Records one value in microseconds (negative values, from clock skew, count as 0). */
  record(us: number): void {
    const v = us < 0 ? 0 : us > HIGHEST_TRACKABLE_US ? HIGHEST_TRACKABLE_US : us;
    const i = this.indexOf(Math.round(v));
    let p = this.pending;
    // A full u32 count is moved out first, so a pending count never wraps.
    if (p !== undefined && p[i] === 0xffffffff) this.flush();
    p = this.pending ??= new Uint32Array(this.indexOf(HIGHEST_TRACKABLE_US) + 1);
    p[i] = (p[i] as number) + 1;
    if (i < this.pendingLo) this.pendingLo = i;
    if (i > this.pendingHi) this.pendingHi = i;
    this.n++;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
    this.sum += v;
    this.sumSq += v * v;
  }

  /** Records `count` equal values at once (the closed-loop modes' send lags, identically 0). */
  recordRepeated(us: number, count: number): void {
    if (count <= 0) return;
    const v = us < 0 ? 0 : us > HIGHEST_TRACKABLE_US ? HIGHEST_TRACKABLE_US : us;
    this.flush();
    this.histogram.recordValueWithCount(Math.round(v), count);
    this.mergeMoments(count, v, v, v * count, v * v * count);
  }

  /**
   * Adds counts kept elsewhere by the same index (the accounting in C, native/tally.c): `pairs` pairs of
   * (HDR counts index, count) in `data` from `offset` on. The moments are not touched (see setMoments
   * and mergeMoments): the histogram ends up exactly as if the values had been recorded here.
   */
  addCounts(data: Float64Array, offset: number, pairs: number): void {
    if (pairs <= 0) return;
    let p = (this.pending ??= new Uint32Array(this.indexOf(HIGHEST_TRACKABLE_US) + 1));
    for (let k = 0, o = offset; k < pairs; k++, o += 2) {
      const i = data[o] as number;
      const c = data[o + 1] as number;
      if ((p[i] as number) + c > 0xffffffff) {
        // Would wrap the pending u32: straight into the histogram instead.
        this.flush();
        this.histogram.recordValueWithCount(this.valueOf(i), c);
        p = this.pending = new Uint32Array(p.length);
        continue;
      }
      p[i] = (p[i] as number) + c;
      if (i < this.pendingLo) this.pendingLo = i;
      if (i > this.pendingHi) this.pendingHi = i;
    }
  }

  /** Replaces the moments with running totals kept elsewhere (with addCounts). */
  setMoments(n: number, lo: number, hi: number, sum: number, sumSq: number): void {
    this.n = n;
    this.lo = lo;
    this.hi = hi;
    this.sum = sum;
    this.sumSq = sumSq;
  }

  /** Values recorded. */
  get count(): number {
    return this.n;
  }

  /** The value at a percentile (0..100), us; 0 when empty. */
  percentile(p: number): number {
    if (this.n === 0) return 0;
    this.flush();
    return this.histogram.getValueAtPercentile(p);
  }

  /** Merges another recorder into this one. */
  add(other: LatencyRecorder): void {
    this.flush();
    other.flush();
    this.histogram.add(other.histogram);
    this.mergeMoments(other.n, other.lo, other.hi, other.sum, other.sumSq);
  }

  /** Adds the moments of values counted elsewhere (with addCounts). */
  mergeMoments(n: number, lo: number, hi: number, sum: number, sumSq: number): void {
    this.n += n;
    this.lo = Math.min(this.lo, lo);
    this.hi = Math.max(this.hi, hi);
    this.sum += sum;
    this.sumSq += sumSq;
  }

  /** A structured-clone-safe copy (the histogram compressed to base64), to cross a worker_threads boundary. */
  toWire(): LatencyWire {
    this.flush();
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
    this.flush();
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
