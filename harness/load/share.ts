/**
 * One thread's share of a load run: its flows, its part of the schedule, and what it measured. The
 * in-process engine runs one share of everything; each worker (`--workers N`) runs one share of several.
 */
import { performance } from 'node:perf_hooks';
import type { Family } from '../protocol/constants.js';
import { decodeProbe, encodeProbe } from '../protocol/probe-codec.js';
import { ShareAccounting } from './accounting.js';
import { clockNs } from './clock.js';
import { drain } from './drain.js';
import { openFlows } from './flows.js';
import type { IntervalSeries, IntervalWire } from './intervals.js';
import type { LatencyRecorder, LatencyWire } from './latency.js';
import type { LoadInternals, ResolvedLoadOptions } from './options.js';
import { sendProbes } from './sending.js';
import type { IntervalStats, LoadCounters } from './types.js';
import { WakeTimer } from './wake-timer.js';

/** A resolved target as the engine uses it. */
export interface EngineTarget {
  readonly input: string;
  readonly address: string;
  readonly port: number;
  readonly family: Family;
  readonly embedded: boolean;
}

/** Which flows and which part of the schedule one thread runs. */
export interface ShareSpec {
  /** Id of this share's first flow; its flows are firstFlow .. firstFlow + flowCount - 1. */
  readonly firstFlow: number;
  readonly flowCount: number;
  /** This share's index and the number of shares: rate mode sends every `shares`-th slot of the schedule. */
  readonly index: number;
  readonly shares: number;
}

/** What one thread measured, as live objects. */
export interface ShareOutcome {
  readonly perFlow: readonly LoadCounters[];
  readonly jitterSum: number;
  readonly jitterN: number;
  readonly sendErrors: readonly (readonly [string, number])[];
  readonly response: LatencyRecorder;
  readonly service: LatencyRecorder;
  readonly sendLag: LatencyRecorder;
  readonly series: IntervalSeries;
  /**
   * Utilisation over the run of the busier of the thread's event loop and its data-plane thread, less
   * the pacer's polling (which is waiting, not work).
   */
  readonly elu: number;
  /** Share of the run the pacer spent polling for a close send time (included in the raw utilisation). */
  readonly pollShare: number;
  /** Which thread `elu` is: the event loop, or the data-plane thread. */
  readonly busiest: BusiestThread;
  /** The measured time when the run was cut short, ms (absent: the whole duration). */
  readonly measuredMs?: number;
}

/** A ShareOutcome as plain data, to cross a worker_threads boundary. */
export interface ShareWire {
  readonly perFlow: readonly LoadCounters[];
  readonly jitterSum: number;
  readonly jitterN: number;
  readonly sendErrors: readonly (readonly [string, number])[];
  readonly response: LatencyWire;
  readonly service: LatencyWire;
  readonly sendLag: LatencyWire;
  readonly series: IntervalWire;
  readonly elu: number;
  readonly pollShare: number;
  readonly busiest: BusiestThread;
  readonly measuredMs?: number;
}

/** The thread of a share that was busier over the run (ShareOutcome.busiest). */
export type BusiestThread = 'event loop' | 'data-plane thread';

/** A share's outcome as plain data. */
export function shareToWire(s: ShareOutcome): ShareWire {
  return {
    perFlow: s.perFlow,
    jitterSum: s.jitterSum,
    jitterN: s.jitterN,
    sendErrors: s.sendErrors,
    response: s.response.toWire(),
    service: s.service.toWire(),
    sendLag: s.sendLag.toWire(),
    series: s.series.toWire(),
    elu: s.elu,
    pollShare: s.pollShare,
    busiest: s.busiest,
    ...(s.measuredMs === undefined ? {} : { measuredMs: s.measuredMs }),
  };
}

/** How a share meets the others: the common start, and the point where its sockets are still open after the drain. */
export interface ShareSync {
  /** Called once the flows are open and warm; resolves to the start time t0 in this thread's clockNs. */
  start(ports: readonly number[]): Promise<number>;
  /** Called after the drain, before the flows close (the /proc snapshot after the run needs them open). */
  finished(outcome: ShareOutcome): Promise<void>;
}

/** Options a share runs with (no callbacks: they cannot cross a thread boundary). */
export type ShareOptions = Omit<ResolvedLoadOptions, 'onInterval' | 'signal'>;

/** The share of flows of worker `index` out of `shares`: the flows split as evenly as they go. */
export function shareOf(flows: number, index: number, shares: number): ShareSpec {
  const base = Math.floor(flows / shares);
  const extra = flows % shares;
  const firstFlow = index * base + Math.min(index, extra);
  return { firstFlow, flowCount: base + (index < extra ? 1 : 0), index, shares };
}

/** Runs the codec a few thousand times first, so JIT compilation does not show up as the first interval's send lag. */
function warmCodec(runId: Uint8Array, sizes: readonly number[]): void {
  const scratch = Buffer.alloc(Math.max(...sizes));
  for (let i = 0; i < 4000; i++) {
    const length = sizes[i % sizes.length] as number;
    encodeProbe(scratch, { runId, flow: 0, seq: i, intendedNs: i, actualNs: i, length });
    decodeProbe(scratch.subarray(0, length), runId);
  }
}

/**
 * Runs one share of a load run in this thread: opens its flows, waits for the common start, sends,
 * receives, drains, and reports through `sync`. When `stop` aborts, sending ends at once and the
 * share reports what it measured until then (ShareOutcome.measuredMs).
 */
export async function measureShare(
  o: ShareOptions,
  target: Pick<EngineTarget, 'address' | 'port' | 'family'>,
  runIdBytes: Uint8Array,
  share: ShareSpec,
  internals: LoadInternals,
  sync: ShareSync,
  onInterval?: (s: IntervalStats) => void,
  stop?: AbortSignal,
): Promise<void> {
  const acc = new ShareAccounting(o, internals.jsAccounting !== true);
  const cut = (): void => acc.cutAt(clockNs());
  if (stop?.aborted) cut();
  else stop?.addEventListener('abort', cut, { once: true });
  const flows = await openFlows(
    share.flowCount,
    {
      family: target.family,
      address: target.address,
      port: target.port,
      sizes: o.sizes,
      runId: runIdBytes,
      ...(o.rcvbufBytes === undefined ? {} : { rcvbufBytes: o.rcvbufBytes }),
    },
    acc.sinks,
    share.firstFlow,
  );
  // Per-sequence state outlives the late bound by a second: any reply after that is late anyway.
  for (const f of flows) f.counters.keepNs = acc.lateBoundNs + 1e9;
  let intervalTimer: NodeJS.Timeout | undefined;
  const wake = o.mode === 'rate' ? new WakeTimer() : undefined;
  try {
    warmCodec(runIdBytes, o.sizes);
    const t0 = await sync.start(flows.map((f) => f.port));
    const elu0 = performance.eventLoopUtilization();
    const eluStartNs = clockNs();
    acc.measureFrom(t0 + o.warmupMs * 1e6, o.durationMs);

    const series = acc.series;
    const emit = (s: IntervalStats): void => onInterval?.(s);
    const graceMs = Math.min(o.drainMs, o.intervalMs);
    // Counted in C (native path): taken in per interval, which also keeps C's memory to the open intervals.
    if (onInterval || acc.tally !== undefined) {
      intervalTimer = setInterval(
        () => {
          acc.collect(flows);
          series.emitClosed((clockNs() - acc.measureStart) / 1e6, graceMs, emit);
        },
        Math.min(100, o.intervalMs),
      );
    }

    const sending = await sendProbes(o, share, flows, t0, acc, internals, wake);
    acc.sendLag.recordRepeated(0, acc.zeroLags);
    const lastSendNs = clockNs();
    // Utilisation over the sending phase only: the drain is waiting by design.
    const rawElu = performance.eventLoopUtilization(elu0).utilization;
    const loopPoll = Math.min(1, sending.pollNs / Math.max(1, lastSendNs - eluStartNs));
    const loopElu = Math.max(0, rawElu - loopPoll);
    // With a data plane the work is mostly its thread's: the busier of the two is the generator's figure.
    const plane = sending.plane;
    const onPlane = plane !== undefined && plane.busy > loopElu;
    const elu = onPlane ? plane.busy : loopElu;
    const pollShare = onPlane ? plane.poll : loopPoll;

    await drain(acc, lastSendNs, o.drainMs);
    clearInterval(intervalTimer);
    intervalTimer = undefined;
    acc.collect(flows);
    series.emitRest(emit);

    if (o.mode !== 'rate') acc.service.add(acc.response);
    const sendErrors = new Map<string, number>();
    for (const f of flows)
      for (const [k, v] of f.counters.sendErrors) sendErrors.set(k, (sendErrors.get(k) ?? 0) + v);
    let jitterSum = 0;
    let jitterN = 0;
    for (const f of flows) {
      const j = f.counters.jitter();
      jitterSum += j.us * j.samples;
      jitterN += j.samples;
    }
    await sync.finished({
      perFlow: flows.map((f) => f.counters.snapshot()),
      jitterSum,
      jitterN,
      sendErrors: [...sendErrors],
      response: acc.response,
      service: acc.service,
      sendLag: acc.sendLag,
      series,
      elu,
      pollShare,
      busiest: onPlane ? 'data-plane thread' : 'event loop',
      ...(acc.cutMs === undefined ? {} : { measuredMs: acc.cutMs }),
    });
  } finally {
    stop?.removeEventListener('abort', cut);
    clearInterval(intervalTimer);
    await wake?.close();
    await Promise.all(flows.map((f) => f.close()));
  }
}
