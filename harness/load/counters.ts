/** Per-flow counters (LOAD.md "Counters"): loss, duplicates (RFC 5560), reordering (RFC 4737), jitter (RFC 3550). */
import type { LoadCounters } from './types.js';

const ANSWERED = 1;
const RELEASED = 2;

/** A growable typed array of numbers (record-setter lists of the reordering metric). */
class NumberList {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
}

/** The mutable counters and per-sequence state of one flow. */
export class FlowCounters {
  sent = 0;
  received = 0;
  unique = 0;
  late = 0;
  duplicates = 0;
  reordered = 0;
  reorderExtentMax = 0;
  corrupted = 0;
  truncated = 0;
  foreign = 0;
  icmpErrors = 0;
  /** Send errors that are not ICMP reports (ENOBUFS, ...), by errno: generator trouble. */
  readonly sendErrors = new Map<string, number>();

  /** One byte per sequence number: ANSWERED | RELEASED bits. */
  private seqState = new Uint8Array(4096);
  /** RFC 4737: next expected sequence, arrival index, and the sequence/arrival of each record setter. */
  private nextExp = 0;
  private arrivals = 0;
  private readonly recordSeq = new NumberList();
  private readonly recordIdx = new NumberList();
  /** RFC 3550 interarrival jitter state, ns. */
  private lastTransitNs = NaN;
  private jitterNs = 0;
  private jitterSamples = 0;

  /** Makes room for sequence number `seq` (called as sequences are allocated). */
  ensure(seq: number): void {
    if (seq < this.seqState.length) return;
    let n = this.seqState.length * 2;
    while (n <= seq) n *= 2;
    const bigger = new Uint8Array(n);
    bigger.set(this.seqState);
    this.seqState = bigger;
  }

  /** Marks `seq` answered; false when it already was (a duplicate). */
  markAnswered(seq: number): boolean {
    const s = this.seqState[seq] ?? 0;
    if ((s & ANSWERED) !== 0) return false;
    this.seqState[seq] = s | ANSWERED;
    return true;
  }

  /** Frees `seq`'s window slot once (an answer or an expiry); false when already freed. */
  release(seq: number): boolean {
    const s = this.seqState[seq] ?? 0;
    if ((s & RELEASED) !== 0) return false;
    this.seqState[seq] = s | RELEASED;
    return true;
  }

  /** True once `seq`'s window slot was freed. */
  isReleased(seq: number): boolean {
    return ((this.seqState[seq] ?? 0) & RELEASED) !== 0;
  }

  /** True once `seq` was answered. */
  answered(seq: number): boolean {
    return ((this.seqState[seq] ?? 0) & ANSWERED) !== 0;
  }

  /** RFC 4737 for a unique, measured arrival: reordered when below the next expected sequence. */
  noteArrival(seq: number): void {
    const index = this.arrivals++;
    if (seq >= this.nextExp) {
      this.nextExp = seq + 1;
      this.recordSeq.push(seq);
      this.recordIdx.push(index);
      return;
    }
    this.reordered++;
    // The earliest earlier arrival with a greater sequence is always a record setter: binary search.
    const seqs = this.recordSeq.data;
    let lo = 0;
    let hi = this.recordSeq.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((seqs[mid] as number) > seq) hi = mid;
      else lo = mid + 1;
    }
    const extent = index - (this.recordIdx.data[lo] as number);
    if (extent > this.reorderExtentMax) this.reorderExtentMax = extent;
  }

  /** RFC 3550 interarrival jitter: J += (|D| - J) / 16 over consecutive arrivals of this flow. */
  noteTransit(sentNs: number, receivedNs: number): void {
    const transit = receivedNs - sentNs;
    if (!Number.isNaN(this.lastTransitNs)) {
      const d = Math.abs(transit - this.lastTransitNs);
      this.jitterNs += (d - this.jitterNs) / 16;
      this.jitterSamples++;
    }
    this.lastTransitNs = transit;
  }

  /** This flow's jitter estimate in us and how many differences fed it. */
  jitter(): { us: number; samples: number } {
    return { us: this.jitterNs / 1000, samples: this.jitterSamples };
  }

  /** The contract's view (lost = sent - unique). */
  snapshot(): LoadCounters {
    return {
      sent: this.sent,
      received: this.received,
      unique: this.unique,
      lost: Math.max(0, this.sent - this.unique),
      late: this.late,
      duplicates: this.duplicates,
      reordered: this.reordered,
      reorderExtentMax: this.reorderExtentMax,
      corrupted: this.corrupted,
      truncated: this.truncated,
      foreign: this.foreign,
      icmpErrors: this.icmpErrors,
    };
  }
}

/** Sums flow counters; the reordering extent is the largest of any flow. */
export function sumCounters(all: readonly LoadCounters[]): LoadCounters {
  const out = {
    sent: 0,
    received: 0,
    unique: 0,
    lost: 0,
    late: 0,
    duplicates: 0,
    reordered: 0,
    reorderExtentMax: 0,
    corrupted: 0,
    truncated: 0,
    foreign: 0,
    icmpErrors: 0,
  };
  for (const c of all) {
    out.sent += c.sent;
    out.received += c.received;
    out.unique += c.unique;
    out.lost += c.lost;
    out.late += c.late;
    out.duplicates += c.duplicates;
    out.reordered += c.reordered;
    out.reorderExtentMax = Math.max(out.reorderExtentMax, c.reorderExtentMax);
    out.corrupted += c.corrupted;
    out.truncated += c.truncated;
    out.foreign += c.foreign;
    out.icmpErrors += c.icmpErrors;
  }
  return out;
}
