/**
 * What one thread's share of a load run counts: each reply classified (first answer, copy, too old,
 * not ours) and accounted (counters, histograms, interval buckets), and each send counted. This is
 * the generator's hot path (docs/load.md "I/O path"): plain numbers in, nothing allocated per reply.
 * On the native I/O path the same accounting runs in C (native/tally.c) as the datagrams are sent and
 * received, and collect() takes what it counted into these objects, per interval and at the end.
 */
import { openNativeTally } from '../net/native-client.js';
import {
  PROBE_ROW_SENT,
  PROBE_ROW_STRIDE,
  PROBE_STATUS,
  TALLY_FLOW,
  TALLY_HIST,
  TALLY_LIVE,
  TALLY_RECORD,
  type NativeTallyHandle,
} from '../net/native-io.js';
import type { BatchSink, Flow, ReplySink, ReplySinks } from './flows.js';
import { IntervalSeries } from './intervals.js';
import { LatencyRecorder } from './latency.js';
import type { ResolvedLoadOptions } from './options.js';
import type { WindowDriver } from './window.js';

// What a reply is (ShareAccounting.replyKind):
/** Already counted as foreign, truncated or corrupted without a header. */
const NOT_COUNTED = 0;
/** The first answer to its probe. */
const FIRST = 1;
/** A further copy. */
const AGAIN = 2;
/** A reply to a probe sent so long ago that its state was settled (FlowCounters.keepNs): late, whatever it is. */
const SETTLED = 3;

/** The counters, histograms and measurement window of one share, fed by the sender and by the replies. */
export class ShareAccounting {
  /** The measurement window in clockNs: a probe is counted when its intended send time falls inside. */
  measureStart = Infinity;
  measureEnd = -Infinity;
  /** What JavaScript counted of outstanding, zeroLags and lastAnswerNs (the rest is the tally's). */
  private jsOutstanding = 0;
  private jsZeroLags = 0;
  private jsLastAnswerNs = 0;
  /** The window, where JavaScript keeps it (flood and ping-pong on node:dgram): a reply frees its slot. */
  driver: WindowDriver | undefined = undefined;
  /** Headline latency, from the intended send time. */
  readonly response = new LatencyRecorder();
  /** From the actual send time (closed loop: equal to response, copied after the run). */
  readonly service = new LatencyRecorder();
  readonly sendLag = new LatencyRecorder();
  readonly series: IntervalSeries;
  /** Replies later than this after their intended send time are late, not latency. */
  readonly lateBoundNs: number;
  /** How long a flow keeps a probe's state (FlowCounters.keepNs): a second past the late bound. */
  readonly keepNs: number;
  /** The accounting in C (native I/O path), or undefined: JavaScript counts every send and reply. */
  readonly tally: NativeTallyHandle | undefined;
  /** The tally's live numbers (TALLY_LIVE), or zeros. */
  private readonly live: Float64Array;
  /** Flows by id, for the tally's per-flow records. */
  private flowById: Map<number, Flow> | undefined;
  private readonly closedLoop: boolean;

  /** `native`: account in C when the native I/O module is in use (false: rows are accounted here, as on node:dgram). */
  constructor(o: Pick<ResolvedLoadOptions, 'mode' | 'intervalMs' | 'durationMs' | 'drainMs'>, native = true) {
    this.series = new IntervalSeries(o.intervalMs, o.durationMs);
    this.closedLoop = o.mode !== 'rate';
    this.lateBoundNs = Math.max(o.drainMs, 100) * 1e6;
    this.keepNs = this.lateBoundNs + 1e9;
    this.tally = native
      ? openNativeTally(o.intervalMs * 1e6, this.lateBoundNs, this.keepNs, this.closedLoop)
      : undefined;
    this.live = this.tally?.live() ?? new Float64Array(3);
  }

  /** The reply handlers (and the tally) flows are opened with. */
  get sinks(): ReplySinks {
    return { one: this.onReply, batch: this.onBatch, tally: this.tally };
  }

  /** Measured probes not answered yet. */
  get outstanding(): number {
    return this.jsOutstanding + (this.live[TALLY_LIVE.outstanding] as number);
  }

  /** Measured probes due when sent (closed loop): a send lag of 0 each, recorded in one go after the run. */
  get zeroLags(): number {
    return this.jsZeroLags + (this.live[TALLY_LIVE.zeroLags] as number);
  }

  /** clockNs of the last first answer (the drain settles after it). */
  get lastAnswerNs(): number {
    return Math.max(this.jsLastAnswerNs, this.live[TALLY_LIVE.lastAnswerNs] as number);
  }

  /** Sending stops here, clockNs: the measurement's end, or earlier when the run is cut short. */
  sendEnd = -Infinity;
  /** Told the new sendEnd when the run is cut short: a data plane sending on its own stops at once. */
  onCut: ((sendEndNs: number) => void) | undefined = undefined;
  /** The measured time, ms, once the run was cut short (undefined: the whole duration). */
  cutMs: number | undefined = undefined;
  private cutNs: number | undefined = undefined;

  /** Starts the measurement at `startNs` for `durationMs`. */
  measureFrom(startNs: number, durationMs: number): void {
    this.measureStart = startNs;
    this.measureEnd = startNs + durationMs * 1e6;
    this.sendEnd = this.measureEnd;
    this.tally?.measure(this.measureStart, this.measureEnd);
    if (this.cutNs !== undefined) this.cutAt(this.cutNs);
  }

  /**
   * Cuts the run short at `nowNs` (an interruption): nothing is sent after it, the measurement ends
   * there (at its start when that is later: a warm-up measures nothing), and so does the series.
   */
  cutAt(nowNs: number): void {
    this.cutNs = Math.min(this.cutNs ?? nowNs, nowNs);
    if (this.measureStart === Infinity) return; // not started: measureFrom applies it
    this.sendEnd = Math.min(this.sendEnd, this.cutNs);
    this.onCut?.(this.sendEnd);
    if (this.cutNs >= this.measureEnd) return; // the measurement was over already
    this.measureEnd = Math.max(this.measureStart, this.cutNs);
    this.cutMs = Math.round((this.measureEnd - this.measureStart) / 1e6);
    this.series.cut(this.cutMs);
    this.tally?.measure(this.measureStart, this.measureEnd);
  }

  /**
   * Takes what the tally counted since the last call into the counters, histograms and series (a no-op
   * without a tally): call it before reading them, per interval and after the drain. The histograms get
   * the tally's counts by hdr-histogram-js's own index, so they are exactly what recording here gives.
   */
  collect(flows: readonly Flow[]): void {
    if (this.tally === undefined) return;
    const d = this.tally.collect();
    const byId = (this.flowById ??= new Map(flows.map((f) => [f.id, f])));
    for (let o = 0; o < d.length;) {
      const kind = d[o] as number;
      if (kind === TALLY_RECORD.hist) {
        const which = d[o + 1] as number;
        const n = d[o + 3] as number;
        const pairs = d[o + 8] as number;
        const rec =
          which === TALLY_HIST.response
            ? this.response
            : which === TALLY_HIST.service
              ? this.service
              : which === TALLY_HIST.sendLag
                ? this.sendLag
                : this.series.addCounts(d[o + 2] as number, 0, 0, 0);
        rec.addCounts(d, o + 9, pairs);
        const moments = [
          n,
          d[o + 4] as number,
          d[o + 5] as number,
          d[o + 6] as number,
          d[o + 7] as number,
        ] as const;
        // The run's recorders get running totals (the exact sums of recording here); a recorder that C
        // did not feed (closed loop: service, send lag) keeps what JavaScript recorded in it.
        if (which === TALLY_HIST.series)
          this.series.addCounts(d[o + 2] as number, 0, 0, 0).mergeMoments(...moments);
        else if (n > 0) rec.setMoments(...moments);
        o += 9 + 2 * pairs;
      } else if (kind === TALLY_RECORD.series) {
        this.series.addCounts(d[o + 1] as number, d[o + 2] as number, d[o + 3] as number, d[o + 4] as number);
        o += 5;
      } else {
        byId.get(d[o + 1] as number)?.counters.setFromTally(d, o + 2);
        o += 2 + TALLY_FLOW.length;
      }
    }
  }

  /** True when a probe intended at this time is part of the measurement. */
  measured(intendedNs: number): boolean {
    return intendedNs >= this.measureStart && intendedNs < this.measureEnd;
  }

  /** Counts one probe sent from JavaScript; without `intendedNs` it was due when sent (closed loop). */
  noteSent(flow: Flow, intendedNs: number | undefined, actualNs: number): void {
    // With a tally, C counts the probe as it encodes it.
    if (this.tally !== undefined) return;
    const due = intendedNs ?? actualNs;
    if (!this.measured(due)) return;
    flow.counters.sent++;
    this.jsOutstanding++;
    if (intendedNs === undefined) this.jsZeroLags++;
    else this.sendLag.record((actualNs - intendedNs) / 1000);
    this.series.noteSent(this.series.bucketOf(due - this.measureStart));
  }

  /** Native window mode: probes sent by C, `count` from sequence `first` on at `atNs`, all due when sent. */
  sentRun(flow: Flow, count: number, first: number, atNs: number): void {
    if (this.tally !== undefined) return;
    flow.nextSeq = first + count;
    flow.counters.ensure(first + count - 1, atNs);
    if (!this.measured(atNs)) return;
    flow.counters.sent += count;
    this.jsOutstanding += count;
    this.jsZeroLags += count;
    this.series.noteSent(this.series.bucketOf(atNs - this.measureStart), count);
  }

  // Reply handling on plain numbers (see ReplySink), in two steps: what the reply is (and, where the
  // window is kept here, the refill it triggers), then its accounting.

  /** Step 1: what the reply is (NOT_COUNTED, FIRST, AGAIN or SETTLED); counts what has no probe to name. */
  replyKind(flow: Flow, status: number, probeFlow: number, seq: number): number {
    const c = flow.counters;
    if (status === PROBE_STATUS.foreign) {
      c.foreign++;
      return NOT_COUNTED;
    }
    if (status === PROBE_STATUS.truncated || status === PROBE_STATUS.corrupted) {
      // Header unreadable: the probe it belonged to cannot be named, only counted.
      if (status === PROBE_STATUS.truncated) c.truncated++;
      else c.corrupted++;
      return NOT_COUNTED;
    }
    if (probeFlow !== flow.id || seq >= flow.nextSeq) {
      c.foreign++;
      return NOT_COUNTED;
    }
    if (c.settled(seq)) return SETTLED;
    return c.markAnswered(seq) ? FIRST : AGAIN;
  }

  /** Step 1 where JavaScript keeps the window: the reply also frees its probe's slot, and the slot is refilled. */
  replyWindow(flow: Flow, status: number, probeFlow: number, seq: number): number {
    const kind = this.replyKind(flow, status, probeFlow, seq);
    if (kind !== NOT_COUNTED && flow.counters.release(seq)) {
      flow.inflight--;
      this.driver?.fill(flow);
    }
    return kind;
  }

  /** Step 2: the accounting of a reply that step 1 named (FIRST, AGAIN or SETTLED). */
  replyAccount(
    flow: Flow,
    status: number,
    seq: number,
    intendedNs: number,
    actualNs: number,
    atNs: number,
    kind: number,
  ): void {
    if (!this.measured(intendedNs)) return;
    const c = flow.counters;
    const series = this.series;
    const b = series.bucketOf(intendedNs - this.measureStart);
    const first = kind === FIRST;
    c.received++;
    series.noteReceived(b);
    if (first) {
      this.jsOutstanding--;
      this.jsLastAnswerNs = atNs;
    }
    if (status !== PROBE_STATUS.probe) {
      if (status === PROBE_STATUS.truncatedHeader) c.truncated++;
      else c.corrupted++;
      return;
    }
    if (kind === SETTLED) {
      c.late++;
      return;
    }
    if (!first) {
      c.duplicates++;
      return;
    }
    const responseNs = atNs - intendedNs;
    if (responseNs > this.lateBoundNs) {
      c.late++;
      return;
    }
    c.unique++;
    const responseUs = responseNs / 1000;
    this.response.record(responseUs);
    // Closed loop: every probe is due when it is sent, so service time equals response time (copied after the run).
    if (!this.closedLoop) this.service.record((atNs - actualNs) / 1000);
    series.noteUnique(b, responseUs);
    c.noteArrival(seq, intendedNs, atNs - this.lateBoundNs);
    c.noteTransit(actualNs, atNs);
  }

  /** node:dgram: one reply at a time. */
  readonly onReply: ReplySink = (flow, status, probeFlow, seq, intendedNs, actualNs, atNs) => {
    const kind = this.replyWindow(flow, status, probeFlow, seq);
    if (kind !== NOT_COUNTED) this.replyAccount(flow, status, seq, intendedNs, actualNs, atNs, kind);
  };

  /**
   * Native path: a batch of rows, one pass. The window, where there is one (flood, ping-pong), is kept in
   * C: it freed the slots and sent the refills already, reported here as PROBE_ROW_SENT rows in order.
   */
  readonly onBatch: BatchSink = (flow, rows, start, count, offsetNs) => {
    for (let i = 0, o = start * PROBE_ROW_STRIDE; i < count; i++, o += PROBE_ROW_STRIDE) {
      const status = rows[o] as number;
      if (status === PROBE_ROW_SENT) {
        this.sentRun(flow, rows[o + 1] as number, rows[o + 2] as number, rows[o + 3] as number);
        continue;
      }
      const seq = rows[o + 2] as number;
      const kind = this.replyKind(flow, status, rows[o + 1] as number, seq);
      if (kind === NOT_COUNTED) continue;
      const at = (rows[o + 5] as number) + offsetNs;
      this.replyAccount(flow, status, seq, rows[o + 3] as number, rows[o + 4] as number, at, kind);
    }
  };
}
