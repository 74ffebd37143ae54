/** Per-flow counters (LOAD.md "Counters"): loss, duplicates (RFC 5560), reordering (RFC 4737), jitter (RFC 3550). */
import type { LoadCounters } from './types.js';

const ANSWERED = 1;
const RELEASED = 2;
/** Sequence numbers between two settle points of the per-sequence state. */
const CHECKPOINT = 1024;

/** A growable typed-array queue of numbers (record-setter lists of the reordering metric): push at the end, drop from the front. */
class NumberList {
  data = new Float64Array(1024);
  head = 0;
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      // Reclaim the dropped front before growing: what is live counts, not the run's history.
      const live = this.length - this.head;
      if (live * 2 > this.data.length) {
        const bigger = new Float64Array(this.data.length * 2);
        bigger.set(this.data.subarray(this.head, this.length));
        this.data = bigger;
      } else {
        this.data.copyWithin(0, this.head, this.length);
      }
      this.length = live;
      this.head = 0;
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

  /**
   * How long a probe's state is kept after it was sent, ns: past that, a reply to it counts as late
   * whatever it is (a first answer or a copy). The engine sets it above its late bound.
   */
  keepNs = 2e9;
  /**
   * ANSWERED | RELEASED bits of the sequence numbers from `base` on, one byte each, in a ring (index
   * seq & mask): sequences sent more than keepNs ago are settled and their bytes reused, so the state
   * is bounded by the send rate times keepNs, not by the length of the run.
   */
  private seqState = new Uint8Array(4096);
  private mask = 4095;
  private base = 0;
  /** One past the highest sequence number made room for. */
  private top = 0;
  /** Every CHECKPOINT-th sequence number and its send time: where the state may be settled up to. */
  private readonly checkSeq = new NumberList();
  private readonly checkAt = new NumberList();
  /** RFC 4737: next expected sequence, arrival index, and the sequence/arrival of each record setter. */
  private nextExp = 0;
  private arrivals = 0;
  private readonly recordSeq = new NumberList();
  private readonly recordIdx = new NumberList();
  /** Intended send time of each record setter, ns: records too old to matter are dropped (bounded memory). */
  private readonly recordAt = new NumberList();
  /** RFC 3550 interarrival jitter state, ns. */
  private lastTransitNs = NaN;
  private jitterNs = 0;
  private jitterSamples = 0;

  /**
   * Makes room for sequence numbers up to `seq` (called as sequences are allocated), sent at `atNs`:
   * settles what was sent more than keepNs before, and grows the ring only when the rest does not fit.
   */
  ensure(seq: number, atNs: number): void {
    if (seq < this.top) return;
    const oldTop = this.top;
    for (let k = Math.ceil(this.top / CHECKPOINT) * CHECKPOINT; k <= seq; k += CHECKPOINT) {
      this.checkSeq.push(k);
      this.checkAt.push(atNs);
    }
    this.top = seq + 1;
    if (this.top - this.base <= this.seqState.length) return;
    // Settle up to the newest checkpoint sent before the horizon.
    const horizon = atNs - this.keepNs;
    let settleTo = this.base;
    while (
      this.checkAt.head < this.checkAt.length &&
      (this.checkAt.data[this.checkAt.head] as number) < horizon
    ) {
      settleTo = Math.max(settleTo, this.checkSeq.data[this.checkSeq.head] as number);
      this.checkAt.head++;
      this.checkSeq.head++;
    }
    for (let q = this.base; q < settleTo; q++) this.seqState[q & this.mask] = 0;
    this.base = settleTo;
    if (this.top - this.base <= this.seqState.length) return;
    let n = this.seqState.length * 2;
    while (n < this.top - this.base) n *= 2;
    const bigger = new Uint8Array(n);
    // Only the sequences that had state: the new ones alias live slots of the old ring.
    for (let q = this.base; q < oldTop; q++) bigger[q & (n - 1)] = this.seqState[q & this.mask] as number;
    this.seqState = bigger;
    this.mask = n - 1;
  }

  /** True when `seq`'s state was settled (sent more than keepNs ago): a reply to it is late. */
  settled(seq: number): boolean {
    return seq < this.base;
  }

  /** Marks `seq` (not settled) answered; false when it already was (a duplicate). */
  markAnswered(seq: number): boolean {
    const i = seq & this.mask;
    const s = this.seqState[i] as number;
    if ((s & ANSWERED) !== 0) return false;
    this.seqState[i] = s | ANSWERED;
    return true;
  }

  /** Frees `seq`'s window slot once (an answer or an expiry); false when already freed or settled. */
  release(seq: number): boolean {
    if (seq < this.base) return false;
    const i = seq & this.mask;
    const s = this.seqState[i] as number;
    if ((s & RELEASED) !== 0) return false;
    this.seqState[i] = s | RELEASED;
    return true;
  }

  /** True once `seq`'s window slot was freed (settled sequences count as freed). */
  isReleased(seq: number): boolean {
    return seq < this.base || ((this.seqState[seq & this.mask] as number) & RELEASED) !== 0;
  }

  /**
   * RFC 4737 for a unique, measured arrival: reordered when below the next expected sequence.
   * `intendedNs` is the probe's intended send time; `horizonNs` the oldest intended time a timely
   * arrival can still have (now - the late bound). A record setter sent before the horizon can never
   * be the answer for a later arrival (that arrival was sent after the horizon, so it has a greater
   * sequence), so such records are dropped: the lists stay bounded by rate x late bound instead of
   * growing with the run.
   */
  noteArrival(seq: number, intendedNs = 0, horizonNs = -Infinity): void {
    const index = this.arrivals++;
    const seqs = this.recordSeq;
    const at = this.recordAt;
    // The last record (the highest sequence) always stays: every reordered arrival has its answer.
    while (at.head < at.length - 1 && (at.data[at.head] as number) < horizonNs) {
      seqs.head++;
      this.recordIdx.head++;
      at.head++;
    }
    if (seq >= this.nextExp) {
      this.nextExp = seq + 1;
      seqs.push(seq);
      this.recordIdx.push(index);
      at.push(intendedNs);
      return;
    }
    this.reordered++;
    // The earliest earlier arrival with a greater sequence is always a record setter: binary search.
    let lo = seqs.head;
    let hi = seqs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((seqs.data[mid] as number) > seq) hi = mid;
      else lo = mid + 1;
    }
    // The three lists are pushed, dropped and compacted together, so one position indexes all of them.
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

  /**
   * Takes the counters and jitter estimate kept in C for this flow (the TALLY_FLOW numbers in `data` from
   * `offset` on); icmpErrors and sendErrors stay JavaScript's.
   */
  setFromTally(data: Float64Array, offset: number): void {
    const at = (k: number): number => data[offset + k] as number;
    this.sent = at(0);
    this.received = at(1);
    this.unique = at(2);
    this.late = at(3);
    this.duplicates = at(4);
    this.reordered = at(5);
    this.reorderExtentMax = at(6);
    this.corrupted = at(7);
    this.truncated = at(8);
    this.foreign = at(9);
    this.jitterNs = at(10);
    this.jitterSamples = at(11);
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
