/** `runLoad`: one load run against a target (or the reference server in a child process), LOAD.md. */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isLoopback } from '../runner/capabilities.js';
import type { Family } from '../protocol/constants.js';
import { decodeProbe, encodeProbe } from '../protocol/probe-codec.js';
import { parseTarget, resolveTarget } from '../spec/target.js';
import { busyWait, clockNs } from './clock.js';
import { sumCounters } from './counters.js';
import { startEmbeddedServer, type ChildServer } from './embedded-server.js';
import { flowIoPath, openFlows, type Flow } from './flows.js';
import { snapshotProc } from './generator-health.js';
import { IntervalSeries } from './intervals.js';
import { LatencyRecorder } from './latency.js';
import {
  checkLoadSafety,
  checkSizesForFamily,
  resolveLoadOptions,
  type LoadInternals,
  type ResolvedLoadOptions,
} from './options.js';
import { makeSchedule, runPacer } from './pacer.js';
import type { GeneratorHealth, IntervalStats, LoadOptions, LoadResult } from './types.js';
import { WindowDriver } from './window.js';

export { resolveLoadOptions, LOAD_DEFAULTS, SAFE_RATE_CAP, type LoadInternals } from './options.js';

/** The I/O path this engine uses (LoadResult.ioPath). */
export const IO_PATH = 'node:dgram, one send and one message event per datagram, main thread';

/** Send-lag p99 above max(this, 10% of the period) marks the generator as the bottleneck, us. */
export const SEND_LAG_BOUND_US = 1000;

/** Event-loop utilisation at or above which a flood's generator counts as CPU-bound. */
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
interface EngineTarget {
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
    return await measure(resolved, target, internals);
  } finally {
    await server?.close();
  }
}

async function measure(
  o: ResolvedLoadOptions,
  target: EngineTarget,
  internals: LoadInternals,
): Promise<LoadResult> {
  const runIdBytes = randomBytes(8);
  const response = new LatencyRecorder();
  const service = new LatencyRecorder();
  const sendLag = new LatencyRecorder();
  const series = new IntervalSeries(o.intervalMs, o.durationMs);
  const lateBoundNs = Math.max(o.drainMs, 100) * 1e6;
  let measureStart = Infinity;
  let measureEnd = -Infinity;
  let outstanding = 0;
  let lastAnswerNs = 0;
  let driver: WindowDriver | undefined;
  const measured = (intendedNs: number): boolean => intendedNs >= measureStart && intendedNs < measureEnd;

  const onReply = (flow: Flow, data: Buffer, atNs: number): void => {
    const c = flow.counters;
    const d = decodeProbe(data, runIdBytes);
    if (d.kind === 'foreign') {
      c.foreign++;
      return;
    }
    const p = d.kind === 'probe' ? d : d.probe;
    if (p === undefined) {
      // Header unreadable: the probe it belonged to cannot be named, only counted.
      if (d.kind === 'truncated') c.truncated++;
      else c.corrupted++;
      return;
    }
    if (p.flow !== flow.id || p.seq >= flow.nextSeq) {
      c.foreign++;
      return;
    }
    const first = c.markAnswered(p.seq);
    if (c.release(p.seq)) {
      flow.inflight--;
      driver?.fill(flow);
    }
    if (!measured(p.intendedNs)) return;
    const b = series.bucketOf(p.intendedNs - measureStart);
    c.received++;
    series.noteReceived(b);
    if (first) {
      outstanding--;
      lastAnswerNs = atNs;
    }
    if (d.kind !== 'probe') {
      if (d.kind === 'truncated') c.truncated++;
      else c.corrupted++;
      return;
    }
    if (!first) {
      c.duplicates++;
      return;
    }
    const responseNs = atNs - p.intendedNs;
    if (responseNs > lateBoundNs) {
      c.late++;
      return;
    }
    c.unique++;
    const responseUs = responseNs / 1000;
    response.record(responseUs);
    service.record((atNs - p.actualNs) / 1000);
    series.noteUnique(b, responseUs);
    c.noteArrival(p.seq);
    c.noteTransit(p.actualNs, atNs);
  };

  const flows = await openFlows(
    o.flows,
    {
      family: target.family,
      address: target.address,
      port: target.port,
      sizes: o.sizes,
      runId: runIdBytes,
      ...(o.rcvbufBytes === undefined ? {} : { rcvbufBytes: o.rcvbufBytes }),
    },
    onReply,
  );
  const ports = new Set(flows.map((f) => f.port));
  let intervalTimer: NodeJS.Timeout | undefined;
  try {
    warmCodec(runIdBytes, o.sizes);
    const before = snapshotProc(ports, target.port);
    const startedAt = new Date().toISOString();
    const elu0 = performance.eventLoopUtilization();
    const t0 = clockNs() + 1e6;
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
    // Without `intended` (closed-loop modes) the probe is due when it is sent.
    const sendProbe = (flow: Flow, intended?: number): void => {
      const seq = flow.nextSeq++;
      flow.counters.ensure(seq);
      const actualNs = flow.send(seq, seq % o.sizes.length, intended);
      const intendedNs = intended ?? actualNs;
      if (driver) {
        flow.inflight++;
        flow.pendingSeq.push(seq);
        flow.pendingAtNs.push(actualNs);
      }
      if (!measured(intendedNs)) return;
      flow.counters.sent++;
      outstanding++;
      sendLag.record((actualNs - intendedNs) / 1000);
      series.noteSent(series.bucketOf(intendedNs - measureStart));
    };

    const emit = (s: IntervalStats): void => o.onInterval?.(s);
    const graceMs = Math.min(o.drainMs, o.intervalMs);
    if (o.onInterval) {
      intervalTimer = setInterval(
        () => series.emitClosed((clockNs() - measureStart) / 1e6, graceMs, emit),
        Math.min(100, o.intervalMs),
      );
    }

    if (o.mode === 'rate') {
      let k = 0;
      await runPacer(makeSchedule(o.arrival, t0, o.rate), measureEnd, {
        send: (intendedNs) => sendProbe(flows[k++ % flows.length] as Flow, intendedNs),
        onTick,
      });
    } else {
      const window = o.mode === 'ping-pong' ? 1 : o.window;
      const expireNs = Math.max(10, Math.min(o.drainMs, 200)) * 1e6;
      while (clockNs() < t0) busyWait(0.05);
      driver = new WindowDriver(flows, window, expireNs, measureEnd, (f) => sendProbe(f), onTick);
      await driver.run();
    }
    const lastSendNs = clockNs();

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
    const elu = performance.eventLoopUtilization(elu0).utilization;
    const after = snapshotProc(ports, target.port);
    clearInterval(intervalTimer);
    intervalTimer = undefined;
    series.emitRest(emit);

    const perFlow = flows.map((f) => f.counters.snapshot());
    const counters = sumCounters(perFlow);
    const durS = o.durationMs / 1000;
    const sendLagSummary = sendLag.summary();
    const socketDrops = Math.max(0, after.socketDrops - before.socketDrops);
    const reasons: string[] = [];
    if (socketDrops > 0) {
      reasons.push(
        `the generator's own sockets dropped ${socketDrops} datagrams (receive buffer full): that loss is the generator's`,
      );
    }
    const lagBoundUs = Math.max(SEND_LAG_BOUND_US, (0.1 * 1e6) / o.rate);
    if (o.mode === 'rate' && sendLagSummary.p99 > lagBoundUs) {
      reasons.push(
        `send lag p99 ${sendLagSummary.p99} us is above the bound ${Math.round(lagBoundUs)} us: the generator did not keep to the schedule`,
      );
    }
    if (o.mode === 'flood' && elu >= SATURATED_ELU) {
      reasons.push(`the generator's event loop was busy ${Math.round(elu * 100)}% of the time (CPU-bound)`);
    }
    const sendErrors = new Map<string, number>();
    for (const f of flows)
      for (const [k, v] of f.counters.sendErrors) sendErrors.set(k, (sendErrors.get(k) ?? 0) + v);
    if (sendErrors.size > 0) {
      reasons.push(`send errors: ${[...sendErrors].map(([k, v]) => `${k} x${v}`).join(', ')}`);
    }
    const generator: GeneratorHealth = {
      socketDrops,
      rcvbufErrors: Math.max(0, after.rcvbufErrors - before.rcvbufErrors),
      sndbufErrors: Math.max(0, after.sndbufErrors - before.sndbufErrors),
      bottleneck: reasons.length > 0,
      reasons,
    };
    const generatorLoss = Math.min(counters.lost, socketDrops);
    let jitterSum = 0;
    let jitterN = 0;
    for (const f of flows) {
      const j = f.counters.jitter();
      jitterSum += j.us * j.samples;
      jitterN += j.samples;
    }
    const { target: _t, onInterval: _i, ...plain } = o;
    return {
      runId: runIdBytes.toString('hex'),
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
      ioPath: flowIoPath(),
    };
  } finally {
    clearInterval(intervalTimer);
    await Promise.all(flows.map((f) => f.close()));
  }
}
