/** `runLoad`: one load run against a target (or the reference server in a child process), LOAD.md. */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isLoopback } from '../runner/capabilities.js';
import type { Family } from '../protocol/constants.js';
import { decodeProbe, encodeProbe } from '../protocol/probe-codec.js';
import { parseTarget, resolveTarget } from '../spec/target.js';
import { busyWait, clockNs } from './clock.js';
import { PROBE_ROW_SENT, PROBE_ROW_STRIDE, PROBE_STATUS } from '../net/native-io.js';
import { Worker } from 'node:worker_threads';
import { HarnessError } from '../errors.js';
import { sumCounters } from './counters.js';
import { startEmbeddedServer, type ChildServer } from './embedded-server.js';
import { flowIoPath, openFlows, type BatchSink, type Flow, type ReplySink } from './flows.js';
import { snapshotProc, type ProcSnapshot } from './generator-health.js';
import { IntervalSeries, type IntervalWire } from './intervals.js';
import { LatencyRecorder, type LatencyWire } from './latency.js';
import {
  checkLoadSafety,
  checkSizesForFamily,
  resolveLoadOptions,
  type LoadInternals,
  type ResolvedLoadOptions,
} from './options.js';
import { makeSchedule, runPacer } from './pacer.js';
import type { GeneratorHealth, IntervalStats, LoadCounters, LoadOptions, LoadResult } from './types.js';
import { WakeTimer } from './wake-timer.js';
import { WindowDriver } from './window.js';

export { resolveLoadOptions, LOAD_DEFAULTS, SAFE_RATE_CAP, type LoadInternals } from './options.js';

/** The I/O path with `--workers N` (LoadResult.ioPath). */
export const ioPathOfWorkers = (n: number): string =>
  flowIoPath().replace(/main thread$/, `${n} worker threads`);

/** Bound on a worker's start-up (flows open, codec warm) and on its exit after the run, ms. */
const WORKER_SETUP_MS = 10_000;

/** Lead time between the main thread's "go" and the common start, so every worker is waiting when it comes, ms. */
const WORKER_LEAD_MS = 50;

/** Default send-lag p99 above max(this, 10% of the period) that marks the generator as the bottleneck, us (`--max-lag`). */
export const SEND_LAG_BOUND_US = 1000;

/** Event-loop utilisation (less the pacer's polling) at or above which the generator counts as CPU-bound (rate and flood). */
export const SATURATED_ELU = 0.95;

/** Quiet time after the last outstanding reply, so trailing duplicates are still counted, ms. */
const SETTLE_MS = 100;

/** Runs the codec a few thousand times first, so JIT compilation does not show up as the first interval's send lag. */
function warmCodec(runId: Uint8Array, sizes: readonly number[]): void {
  const scratch = Buffer.alloc(Math.max(...sizes));
  for (let i = 0; i < 4000; i++) {
    const length = sizes[i % sizes.length] as number;
    encodeProbe(scratch, { runId, flow: 0, seq: i, intendedNs: i, actualNs: i, length });
    decodeProbe(scratch.subarray(0, length), runId);
  }
}

/** A resolved target as the engine uses it. */
export interface EngineTarget {
  readonly input: string;
  readonly address: string;
  readonly port: number;
  readonly family: Family;
  readonly embedded: boolean;
}

/** Runs one load test; usage problems throw ERR_ECHOLOT_USAGE before any traffic. */
export async function runLoad(options: LoadOptions = {}, internals: LoadInternals = {}): Promise<LoadResult> {
  const resolved = resolveLoadOptions(options);
  let server: ChildServer | undefined;
  try {
    let target: EngineTarget;
    if (resolved.target === undefined) {
      server = await startEmbeddedServer();
      target = {
        input: 'embedded',
        address: server.address,
        port: server.port,
        family: 'IPv4',
        embedded: true,
      };
    } else {
      const t = await resolveTarget(parseTarget(resolved.target));
      target = { input: t.input, address: t.address, port: t.port, family: t.family, embedded: false };
    }
    checkSizesForFamily(resolved, target.family);
    checkLoadSafety(resolved, target.address, isLoopback(target.address));
    return await (resolved.workers > 1
      ? measureWithWorkers(resolved, target, internals)
      : measureInProcess(resolved, target, internals));
  } finally {
    await server?.close();
  }
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
  /** Event-loop utilisation of the thread over the run, less the pacer's polling (which is waiting, not work). */
  readonly elu: number;
  /** Share of the run the pacer spent polling for a close send time (included in the raw utilisation). */
  readonly pollShare: number;
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
}

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
export type ShareOptions = Omit<ResolvedLoadOptions, 'onInterval'>;

/** The share of flows of worker `index` out of `shares`: the flows split as evenly as they go. */
export function shareOf(flows: number, index: number, shares: number): ShareSpec {
  const base = Math.floor(flows / shares);
  const extra = flows % shares;
  const firstFlow = index * base + Math.min(index, extra);
  return { firstFlow, flowCount: base + (index < extra ? 1 : 0), index, shares };
}

/**
 * Runs one share of a load run in this thread: opens its flows, waits for the common start, sends,
 * receives, drains, and reports through `sync`. The in-process engine runs one share of everything;
 * each worker runs one share of several.
 */
export async function measureShare(
  o: ShareOptions,
  target: Pick<EngineTarget, 'address' | 'port' | 'family'>,
  runIdBytes: Uint8Array,
  share: ShareSpec,
  internals: LoadInternals,
  sync: ShareSync,
  onInterval?: (s: IntervalStats) => void,
): Promise<void> {
  const response = new LatencyRecorder();
  const service = new LatencyRecorder();
  const closedLoop = o.mode !== 'rate';
  const sendLag = new LatencyRecorder();
  const series = new IntervalSeries(o.intervalMs, o.durationMs);
  const lateBoundNs = Math.max(o.drainMs, 100) * 1e6;
  let measureStart = Infinity;
  let measureEnd = -Infinity;
  let outstanding = 0;
  let zeroLags = 0;
  let lastAnswerNs = 0;
  let driver: WindowDriver | undefined;
  const measured = (intendedNs: number): boolean => intendedNs >= measureStart && intendedNs < measureEnd;

  // Reply handling on plain numbers (see ReplySink), in two steps: what the reply is (and, where the
  // window is kept here, the refill it triggers), then its accounting.

  // Step 1: what the reply is. Returns NOT_COUNTED (already counted as foreign, truncated or corrupted
  // without a header), FIRST (the first answer to this probe), AGAIN (a further copy) or SETTLED (its
  // probe is too old to tell).
  const NOT_COUNTED = 0;
  const FIRST = 1;
  const AGAIN = 2;
  // A reply to a probe sent so long ago that its state was settled (FlowCounters.keepNs): late, whatever it is.
  const SETTLED = 3;
  const replyKind = (flow: Flow, status: number, probeFlow: number, seq: number): number => {
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
  };
  // ... and the window where JavaScript keeps it (flood and ping-pong on node:dgram): the reply frees its slot.
  const replyWindow = (flow: Flow, status: number, probeFlow: number, seq: number): number => {
    const kind = replyKind(flow, status, probeFlow, seq);
    if (kind !== NOT_COUNTED && flow.counters.release(seq)) {
      flow.inflight--;
      driver?.fill(flow);
    }
    return kind;
  };

  // Step 2: the accounting of a reply that step 1 named (FIRST, AGAIN or SETTLED).
  const replyAccount = (
    flow: Flow,
    status: number,
    seq: number,
    intendedNs: number,
    actualNs: number,
    atNs: number,
    kind: number,
  ): void => {
    if (!measured(intendedNs)) return;
    const c = flow.counters;
    const b = series.bucketOf(intendedNs - measureStart);
    const first = kind === FIRST;
    c.received++;
    series.noteReceived(b);
    if (first) {
      outstanding--;
      lastAnswerNs = atNs;
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
    if (responseNs > lateBoundNs) {
      c.late++;
      return;
    }
    c.unique++;
    const responseUs = responseNs / 1000;
    response.record(responseUs);
    // Closed loop: every probe is due when it is sent, so service time equals response time (copied after the run).
    if (!closedLoop) service.record((atNs - actualNs) / 1000);
    series.noteUnique(b, responseUs);
    c.noteArrival(seq, intendedNs, atNs - lateBoundNs);
    c.noteTransit(actualNs, atNs);
  };

  // node:dgram: one reply at a time.
  const onReply: ReplySink = (flow, status, probeFlow, seq, intendedNs, actualNs, atNs) => {
    const kind = replyWindow(flow, status, probeFlow, seq);
    if (kind !== NOT_COUNTED) replyAccount(flow, status, seq, intendedNs, actualNs, atNs, kind);
  };

  // Native window mode: probes sent by C, `count` from sequence `first` on at `atNs`, all due when sent.
  const sentRun = (flow: Flow, count: number, first: number, atNs: number): void => {
    flow.nextSeq = first + count;
    flow.counters.ensure(first + count - 1, atNs);
    if (!measured(atNs)) return;
    flow.counters.sent += count;
    outstanding += count;
    zeroLags += count;
    series.noteSent(series.bucketOf(atNs - measureStart), count);
  };

  // Native path: a batch of rows, one pass. The window, where there is one (flood, ping-pong), is kept in
  // C: it freed the slots and sent the refills already, reported here as PROBE_ROW_SENT rows in order.
  const onBatch: BatchSink = (flow, rows, start, count, offsetNs) => {
    for (let i = 0, o = start * PROBE_ROW_STRIDE; i < count; i++, o += PROBE_ROW_STRIDE) {
      const status = rows[o] as number;
      if (status === PROBE_ROW_SENT) {
        sentRun(flow, rows[o + 1] as number, rows[o + 2] as number, rows[o + 3] as number);
        continue;
      }
      const seq = rows[o + 2] as number;
      const kind = replyKind(flow, status, rows[o + 1] as number, seq);
      if (kind === NOT_COUNTED) continue;
      const at = (rows[o + 5] as number) + offsetNs;
      replyAccount(flow, status, seq, rows[o + 3] as number, rows[o + 4] as number, at, kind);
    }
  };

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
    { one: onReply, batch: onBatch },
    share.firstFlow,
  );
  // Per-sequence state outlives the late bound by a second: any reply after that is late anyway.
  for (const f of flows) f.counters.keepNs = lateBoundNs + 1e9;
  let intervalTimer: NodeJS.Timeout | undefined;
  const wake = o.mode === 'rate' ? new WakeTimer() : undefined;
  let pollNs = 0;
  try {
    warmCodec(runIdBytes, o.sizes);
    const t0 = await sync.start(flows.map((f) => f.port));
    const elu0 = performance.eventLoopUtilization();
    const eluStartNs = clockNs();
    measureStart = t0 + o.warmupMs * 1e6;
    measureEnd = measureStart + o.durationMs * 1e6;

    let stalled = internals.stallAtMs === undefined;
    // The stall starts between exchanges (nothing in flight), as a GC pause or a busy loop would most
    // often hit: a reply already waiting in the socket would otherwise carry the stall in its service time.
    const onTick = (): void => {
      if (!stalled && outstanding <= 0 && clockNs() >= measureStart + (internals.stallAtMs ?? 0) * 1e6) {
        stalled = true;
        busyWait(internals.stallMs ?? 1000);
      }
    };

    // Sends probe `seq` of `flow` with this intended time and counts it when it falls in the measurement.
    // Without `intended` (closed-loop modes) the probe is due when it is sent (at `nowNs` when given), so
    // its send lag is 0 by definition: those are counted here and recorded in one go after the run.
    const sendProbe = (flow: Flow, intended?: number, nowNs?: number): void => {
      const seq = flow.nextSeq++;
      flow.counters.ensure(seq, intended ?? nowNs ?? clockNs());
      const actualNs = flow.send(seq, seq % o.sizes.length, intended, nowNs);
      const intendedNs = intended ?? actualNs;
      if (driver) {
        flow.inflight++;
        flow.pendingSeq.push(seq);
        flow.pendingAtNs.push(actualNs);
      }
      if (!measured(intendedNs)) return;
      flow.counters.sent++;
      outstanding++;
      if (intended === undefined) zeroLags++;
      else sendLag.record((actualNs - intendedNs) / 1000);
      series.noteSent(series.bucketOf(intendedNs - measureStart));
    };

    const emit = (s: IntervalStats): void => onInterval?.(s);
    const graceMs = Math.min(o.drainMs, o.intervalMs);
    if (onInterval) {
      intervalTimer = setInterval(
        () => series.emitClosed((clockNs() - measureStart) / 1e6, graceMs, emit),
        Math.min(100, o.intervalMs),
      );
    }

    if (o.mode === 'rate') {
      let k = 0;
      // Share i of n sends slots i, i+n, i+2n... of the whole schedule: the same offered rate in total.
      const periodNs = 1e9 / o.rate;
      const schedule = makeSchedule(o.arrival, t0 + share.index * periodNs, o.rate / share.shares);
      const stats = await runPacer(
        schedule,
        measureEnd,
        {
          send: (intendedNs) => sendProbe(flows[k++ % flows.length] as Flow, intendedNs),
          onTick,
        },
        wake,
      );
      pollNs = stats.pollNs;
    } else {
      const window = o.mode === 'ping-pong' ? 1 : o.window;
      const expireNs = Math.max(10, Math.min(o.drainMs, 200)) * 1e6;
      while (clockNs() < t0) busyWait(0.05);
      const nativeWindow = flows.every((f) => f.startWindow(window, expireNs, measureEnd));
      driver = new WindowDriver(
        flows,
        window,
        expireNs,
        measureEnd,
        (f, now) => sendProbe(f, undefined, now),
        onTick,
        nativeWindow ? (f, count, atNs) => sentRun(f, count, f.nextSeq, atNs) : undefined,
      );
      await driver.run();
    }
    sendLag.recordRepeated(0, zeroLags);
    const lastSendNs = clockNs();
    // Utilisation over the sending phase only: the drain is waiting by design.
    const rawElu = performance.eventLoopUtilization(elu0).utilization;
    const pollShare = Math.min(1, pollNs / Math.max(1, lastSendNs - eluStartNs));
    const elu = Math.max(0, rawElu - pollShare);

    // Drain: until every measured probe is answered (plus a short settle for trailing duplicates) or the deadline.
    const drainEnd = lastSendNs + o.drainMs * 1e6;
    await new Promise<void>((resolve) => {
      const check = (): void => {
        const now = clockNs();
        const quietSince = Math.max(lastAnswerNs, lastSendNs);
        if (
          now >= drainEnd ||
          (outstanding <= 0 && now - quietSince >= Math.min(SETTLE_MS, o.drainMs) * 1e6)
        ) {
          resolve();
          return;
        }
        setTimeout(check, 5);
      };
      check();
    });
    clearInterval(intervalTimer);
    intervalTimer = undefined;
    series.emitRest(emit);

    if (closedLoop) service.add(response);
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
      response,
      service,
      sendLag,
      series,
      elu,
      pollShare,
    });
  } finally {
    clearInterval(intervalTimer);
    await wake?.close();
    await Promise.all(flows.map((f) => f.close()));
  }
}

/** Runs the whole load in this thread (`--workers 1`). */
async function measureInProcess(
  o: ResolvedLoadOptions,
  target: EngineTarget,
  internals: LoadInternals,
): Promise<LoadResult> {
  const runIdBytes = randomBytes(8);
  let before: ProcSnapshot | undefined;
  let after: ProcSnapshot | undefined;
  let ports = new Set<number>();
  let startedAt = '';
  let outcome: ShareOutcome | undefined;
  await measureShare(
    o,
    target,
    runIdBytes,
    shareOf(o.flows, 0, 1),
    internals,
    {
      start: (p) => {
        ports = new Set(p);
        before = snapshotProc(ports, target.port);
        startedAt = new Date().toISOString();
        return Promise.resolve(clockNs() + 1e6);
      },
      finished: (out) => {
        after = snapshotProc(ports, target.port);
        outcome = out;
        return Promise.resolve();
      },
    },
    o.onInterval,
  );
  if (!outcome || !before || !after) throw new Error('the load engine finished without an outcome');
  return assemble(o, target, runIdBytes, startedAt, [outcome], before, after, flowIoPath());
}

/** What a load worker is given (structured-clone-safe). */
export interface WorkerInput {
  readonly options: ShareOptions;
  readonly target: Pick<EngineTarget, 'address' | 'port' | 'family'>;
  readonly runId: Uint8Array;
  readonly share: ShareSpec;
  readonly internals: LoadInternals;
}

/** Messages of the worker protocol: ready -> go -> done -> close -> (exit). */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly ports: readonly number[] }
  | { readonly type: 'done'; readonly outcome: ShareWire }
  | { readonly type: 'failed'; readonly message: string; readonly code?: string };
/** Messages from the main thread to a worker. */
export type MainMessage = { readonly type: 'go'; readonly t0EpochMs: number } | { readonly type: 'close' };

/** Resolves when every worker has sent a message of `type` (each worker's first such message), or rejects. */
function collect<T extends WorkerMessage['type']>(
  workers: readonly Worker[],
  type: T,
  timeoutMs: number,
): Promise<Extract<WorkerMessage, { type: T }>[]> {
  return new Promise((resolve, reject) => {
    const got: (Extract<WorkerMessage, { type: T }> | undefined)[] = workers.map(() => undefined);
    let left = workers.length;
    const cleanups: (() => void)[] = [];
    const done = (err?: Error): void => {
      clearTimeout(timer);
      for (const c of cleanups) c();
      if (err) reject(err);
      else resolve(got as Extract<WorkerMessage, { type: T }>[]);
    };
    const timer = setTimeout(
      () => done(new Error(`load workers sent no '${type}' within ${timeoutMs} ms`)),
      timeoutMs,
    );
    workers.forEach((w, i) => {
      const onMessage = (m: WorkerMessage): void => {
        if (m.type === 'failed') {
          done(
            m.code === 'ERR_ECHOLOT_USAGE' || m.code === 'ERR_ECHOLOT_UNREACHABLE'
              ? new HarnessError(m.code, m.message)
              : new Error(`load worker ${i}: ${m.message}`),
          );
          return;
        }
        if (m.type !== type || got[i] !== undefined) return;
        got[i] = m as Extract<WorkerMessage, { type: T }>;
        if (--left === 0) done();
      };
      const onError = (err: Error): void => done(new Error(`load worker ${i}: ${err.message}`));
      const onExit = (code: number): void => {
        if (got[i] === undefined) done(new Error(`load worker ${i} exited (code ${code}) before '${type}'`));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      cleanups.push(() => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      });
    });
  });
}

/** The absolute time now in ms (performance.timeOrigin differs between threads; this does not). */
const epochNowMs = (): number => performance.timeOrigin + performance.now();

/**
 * Runs the load in `o.workers` worker_threads, each with its share of the flows and of the rate; the
 * main thread snapshots /proc around them, starts them together and merges what they measured.
 */
async function measureWithWorkers(
  o: ResolvedLoadOptions,
  target: EngineTarget,
  internals: LoadInternals,
): Promise<LoadResult> {
  const runIdBytes = randomBytes(8);
  const { onInterval, target: _t, ...shareOptions } = o;
  const script = new URL('./load-worker.js', import.meta.url);
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < o.workers; i++) {
      const input: WorkerInput = {
        options: shareOptions,
        target: { address: target.address, port: target.port, family: target.family },
        runId: runIdBytes,
        share: shareOf(o.flows, i, o.workers),
        internals,
      };
      workers.push(new Worker(script, { workerData: input }));
    }
    const ready = await collect(workers, 'ready', WORKER_SETUP_MS);
    const ports = new Set(ready.flatMap((r) => r.ports));
    const before = snapshotProc(ports, target.port);
    const startedAt = new Date().toISOString();
    const finished = collect(
      workers,
      'done',
      WORKER_LEAD_MS + o.warmupMs + o.durationMs + o.drainMs + WORKER_SETUP_MS,
    );
    const go: MainMessage = { type: 'go', t0EpochMs: epochNowMs() + WORKER_LEAD_MS };
    for (const w of workers) w.postMessage(go);
    const done = await finished;
    const after = snapshotProc(ports, target.port);
    const outcomes = done.map((d) => shareFromWire(d.outcome, o));
    const result = assemble(
      o,
      target,
      runIdBytes,
      startedAt,
      outcomes,
      before,
      after,
      ioPathOfWorkers(o.workers),
    );
    // Live progress cannot cross threads cheaply: with workers the series is emitted once merged.
    if (onInterval) for (const i of result.intervals) onInterval(i);
    return result;
  } finally {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => void w.terminate(), WORKER_SETUP_MS);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.postMessage({ type: 'close' } satisfies MainMessage);
          }),
      ),
    );
  }
}

/** Rebuilds a share's live objects from its wire form (histograms decoded and added). */
function shareFromWire(w: ShareWire, o: ResolvedLoadOptions): ShareOutcome {
  const rec = (x: LatencyWire): LatencyRecorder => {
    const r = new LatencyRecorder();
    r.addWire(x);
    return r;
  };
  const series = new IntervalSeries(o.intervalMs, o.durationMs);
  series.addWire(w.series);
  return {
    perFlow: w.perFlow,
    jitterSum: w.jitterSum,
    jitterN: w.jitterN,
    sendErrors: w.sendErrors,
    response: rec(w.response),
    service: rec(w.service),
    sendLag: rec(w.sendLag),
    series,
    elu: w.elu,
    pollShare: w.pollShare,
  };
}

/** Merges the shares and judges the generator's health: the LoadResult. */
function assemble(
  o: ResolvedLoadOptions,
  target: EngineTarget,
  runIdBytes: Uint8Array,
  startedAt: string,
  shares: readonly ShareOutcome[],
  before: ProcSnapshot,
  after: ProcSnapshot,
  ioPath: string,
): LoadResult {
  const [first, ...rest] = shares;
  if (!first) throw new Error('no share to assemble');
  const response = first.response;
  const service = first.service;
  const sendLag = first.sendLag;
  const series = first.series;
  for (const s of rest) {
    response.add(s.response);
    service.add(s.service);
    sendLag.add(s.sendLag);
    series.addWire(s.series.toWire());
  }
  const perFlow = shares.flatMap((s) => s.perFlow);
  const counters = sumCounters(perFlow);
  const durS = o.durationMs / 1000;
  const sendLagSummary = sendLag.summary();
  const socketDrops = Math.max(0, after.socketDrops - before.socketDrops);
  const elu = Math.max(...shares.map((s) => s.elu));
  const reasons: string[] = [];
  if (socketDrops > 0) {
    reasons.push(
      `the generator's own sockets dropped ${socketDrops} datagrams (receive buffer full): that loss is the generator's`,
    );
  }
  const lagBoundUs = Math.max(o.maxLagUs, (0.1 * 1e6) / o.rate);
  if (o.mode === 'rate' && sendLagSummary.p99 > lagBoundUs) {
    reasons.push(
      `send lag p99 ${sendLagSummary.p99} us is above the bound ${Math.round(lagBoundUs)} us: the generator did not keep to the schedule`,
    );
  }
  if (o.mode !== 'ping-pong' && elu >= SATURATED_ELU) {
    const poll = Math.max(...shares.map((s) => s.pollShare));
    reasons.push(
      `the generator's event loop${shares.length > 1 ? ' (busiest worker)' : ''} was saturated: utilisation ${Math.round(elu * 100)}%` +
        (o.mode === 'rate' ? ` not counting the pacer's polling (${Math.round(poll * 100)}%)` : '') +
        ' (CPU-bound)',
    );
  }
  const sendErrors = new Map<string, number>();
  for (const s of shares) for (const [k, v] of s.sendErrors) sendErrors.set(k, (sendErrors.get(k) ?? 0) + v);
  if (sendErrors.size > 0) {
    reasons.push(`send errors: ${[...sendErrors].map(([k, v]) => `${k} x${v}`).join(', ')}`);
  }
  const generator: GeneratorHealth = {
    eventLoopUtilization: Math.round(elu * 1000) / 1000,
    socketDrops,
    rcvbufErrors: Math.max(0, after.rcvbufErrors - before.rcvbufErrors),
    sndbufErrors: Math.max(0, after.sndbufErrors - before.sndbufErrors),
    bottleneck: reasons.length > 0,
    reasons,
  };
  const generatorLoss = Math.min(counters.lost, socketDrops);
  const jitterSum = shares.reduce((a, s) => a + s.jitterSum, 0);
  const jitterN = shares.reduce((a, s) => a + s.jitterN, 0);
  const { target: _t, onInterval: _i, ...plain } = o;
  return {
    runId: Buffer.from(runIdBytes).toString('hex'),
    target: { input: target.input, address: target.address, port: target.port, embedded: target.embedded },
    mode: o.mode,
    options: plain,
    startedAt,
    durationMs: o.durationMs,
    counters,
    perFlow,
    rates: {
      offered: o.mode === 'rate' ? o.rate : Math.round((counters.sent / durS) * 10) / 10,
      echoes: Math.round((counters.unique / durS) * 10) / 10,
      sent: Math.round((counters.sent / durS) * 10) / 10,
    },
    response: response.summary(),
    service: service.summary(),
    sendLag: sendLagSummary,
    jitterUs: jitterN === 0 ? 0 : Math.round((jitterSum / jitterN) * 10) / 10,
    intervals: series.all(),
    generator,
    lossAttribution: { generator: generatorLoss, networkOrServer: counters.lost - generatorLoss },
    ioPath,
  };
}
