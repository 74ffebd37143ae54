/** The per-interval series: each interval counts the probes *scheduled* in it (so loss is final per interval). */
import { LatencyRecorder, type LatencyWire } from './latency.js';
import type { IntervalStats } from './types.js';

/** Per-bucket raw figures of a series, structured-clone-safe (a worker's share, merged by bucket). */
export interface IntervalWire {
  readonly sent: readonly number[];
  readonly received: readonly number[];
  readonly unique: readonly number[];
  readonly latency: readonly LatencyWire[];
}

/** Buckets of one run's measurement, by intended send time. */
export class IntervalSeries {
  private readonly sent: number[] = [];
  private readonly received: number[] = [];
  private readonly unique: number[] = [];
  private readonly latency: LatencyRecorder[] = [];
  private emitted = 0;

  constructor(
    private readonly intervalMs: number,
    private durationMs: number,
  ) {}

  /** The bucket of a probe scheduled `offsetNs` after the measurement started. */
  bucketOf(offsetNs: number): number {
    return Math.max(0, Math.floor(offsetNs / (this.intervalMs * 1e6)));
  }

  private grow(b: number): void {
    while (this.sent.length <= b) {
      this.sent.push(0);
      this.received.push(0);
      this.unique.push(0);
      // 2 significant digits: a time series needs 1% precision, and one histogram per interval adds up over a long run.
      this.latency.push(new LatencyRecorder(2));
    }
  }

  /** Counts `n` measured sends (one by default). */
  noteSent(b: number, n = 1): void {
    this.grow(b);
    this.sent[b] = (this.sent[b] ?? 0) + n;
  }

  /** Counts a reply (duplicates included) to a probe of bucket b. */
  noteReceived(b: number): void {
    this.grow(b);
    this.received[b] = (this.received[b] ?? 0) + 1;
  }

  /** Counts a unique, timely reply and its response time. */
  noteUnique(b: number, responseUs: number): void {
    this.grow(b);
    this.unique[b] = (this.unique[b] ?? 0) + 1;
    (this.latency[b] as LatencyRecorder).record(responseUs);
  }

  /** Adds figures of bucket b counted elsewhere (the accounting in C); returns its latency recorder. */
  addCounts(b: number, sent: number, received: number, unique: number): LatencyRecorder {
    this.grow(b);
    this.sent[b] = (this.sent[b] ?? 0) + sent;
    this.received[b] = (this.received[b] ?? 0) + received;
    this.unique[b] = (this.unique[b] ?? 0) + unique;
    return this.latency[b] as LatencyRecorder;
  }

  /** The raw buckets as plain data. */
  toWire(): IntervalWire {
    return {
      sent: [...this.sent],
      received: [...this.received],
      unique: [...this.unique],
      latency: this.latency.map((l) => l.toWire()),
    };
  }

  /** Adds another series' buckets (same interval and duration) bucket by bucket. */
  addWire(w: IntervalWire): void {
    this.grow(w.sent.length - 1);
    for (let b = 0; b < w.sent.length; b++) {
      this.sent[b] = (this.sent[b] ?? 0) + (w.sent[b] ?? 0);
      this.received[b] = (this.received[b] ?? 0) + (w.received[b] ?? 0);
      this.unique[b] = (this.unique[b] ?? 0) + (w.unique[b] ?? 0);
      const l = w.latency[b];
      if (l) (this.latency[b] as LatencyRecorder).addWire(l);
    }
  }

  /** Shortens the measurement to `durationMs` (a run cut short): later intervals are dropped. */
  cut(durationMs: number): void {
    this.durationMs = Math.min(this.durationMs, durationMs);
  }

  /** Number of intervals the measurement spans. */
  get count(): number {
    return Math.max(1, Math.ceil(this.durationMs / this.intervalMs));
  }

  /** The figures of interval b as they stand now. */
  stats(b: number): IntervalStats {
    this.grow(b);
    const atMs = b * this.intervalMs;
    const spanS = Math.max(1e-3, Math.min(this.intervalMs, this.durationMs - atMs) / 1000);
    const sent = this.sent[b] ?? 0;
    const unique = this.unique[b] ?? 0;
    const lat = this.latency[b] as LatencyRecorder;
    return {
      atMs,
      sent,
      received: this.received[b] ?? 0,
      lost: Math.max(0, sent - unique),
      echoRate: Math.round((unique / spanS) * 10) / 10,
      p50Us: lat.percentile(50),
      p99Us: lat.percentile(99),
      maxUs: lat.count === 0 ? 0 : lat.percentile(100),
    };
  }

  /** Emits (once each) the intervals that ended at least `graceMs` before `elapsedMs`. */
  emitClosed(elapsedMs: number, graceMs: number, emit: (s: IntervalStats) => void): void {
    while (this.emitted < this.count && (this.emitted + 1) * this.intervalMs + graceMs <= elapsedMs) {
      emit(this.stats(this.emitted++));
    }
  }

  /** Emits every interval not emitted yet (after the drain). */
  emitRest(emit: (s: IntervalStats) => void): void {
    while (this.emitted < this.count) emit(this.stats(this.emitted++));
  }

  /** The whole series with final figures. */
  all(): IntervalStats[] {
    return Array.from({ length: this.count }, (_, b) => this.stats(b));
  }
}
