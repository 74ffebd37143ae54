/**
 * The sending side of one share: rate mode on the pacer's schedule, flood and ping-pong through the
 * window (in C on the native path, docs/load.md "I/O path"), until the end of the measurement.
 */
import { NativeClient, NativePlane, type ConstantSchedule, type PlaneUsage } from '../net/native-client.js';
import type { ShareAccounting } from './accounting.js';
import { busyWait, clockNs } from './clock.js';
import { dataPlaneWanted, scheduleOnPlane, type Flow } from './flows.js';
import type { LoadInternals, ResolvedLoadOptions } from './options.js';
import { FEED_AHEAD_NS, makeSchedule, runFeeder, runPacer, type Feed, type Schedule } from './pacer.js';
import { seededRandom } from './seeded-random.js';
import type { WakeTimer } from './wake-timer.js';
import { WindowDriver } from './window.js';

/** Which part of the schedule one thread sends: every `shares`-th slot, from slot `index` on. */
export interface ScheduleShare {
  readonly index: number;
  readonly shares: number;
}

/**
 * The constant-arrival schedule of one thread's share: its first slot and its period, ns. Share i of n
 * sends slots i, i+n, i+2n... of the whole schedule from t0 (the same offered rate in total); a shard of
 * a distributed run starts its part of the whole run's schedule at its phase (shard.ts).
 */
export function constantShare(
  o: Pick<ResolvedLoadOptions, 'rate'>,
  share: ScheduleShare,
  t0: number,
  internals: Pick<LoadInternals, 'phaseNs'>,
): { readonly t0Ns: number; readonly periodNs: number } {
  return {
    t0Ns: t0 + (internals.phaseNs ?? 0) + share.index * (1e9 / o.rate),
    // What makeSchedule computes for the share's rate, to the bit.
    periodNs: 1e9 / (o.rate / share.shares),
  };
}

/**
 * The rate-mode schedule of one thread's share: slots index, index+shares... of the run's schedule
 * from t0, shifted by a shard's phase (constant arrivals, constantShare) or drawn from its seed (Poisson).
 */
export function shareSchedule(
  o: Pick<ResolvedLoadOptions, 'rate' | 'arrival'>,
  share: ScheduleShare,
  t0: number,
  internals: Pick<LoadInternals, 'phaseNs' | 'seed'>,
): Schedule {
  const rate = o.rate / share.shares;
  if (o.arrival === 'constant')
    return makeSchedule('constant', constantShare(o, share, t0, internals).t0Ns, rate);
  return makeSchedule(
    o.arrival,
    t0 + share.index * (1e9 / o.rate),
    rate,
    internals.seed === undefined ? Math.random : seededRandom(`${internals.seed}/thread-${share.index}`),
  );
}

/** What sending cost besides the sends. */
export interface SendingStats {
  /** Time this thread's pacer spent polling for a close send time, ns (0 outside rate mode and on the data plane). */
  readonly pollNs: number;
  /** How busy the data plane's thread was, when one sent. */
  readonly plane?: PlaneUsage;
}

/** Sends the share's probes from `t0` until the measurement ends, counting them in `acc`. */
export async function sendProbes(
  o: Pick<ResolvedLoadOptions, 'mode' | 'rate' | 'arrival' | 'window' | 'drainMs' | 'sizes'>,
  share: ScheduleShare,
  flows: readonly Flow[],
  t0: number,
  acc: ShareAccounting,
  internals: LoadInternals,
  wake: WakeTimer | undefined,
): Promise<SendingStats> {
  let stalled = internals.stallAtMs === undefined;
  // The stall starts between exchanges (nothing in flight), as a GC pause or a busy loop would most
  // often hit: a reply already waiting in the socket would otherwise carry the stall in its service time.
  const onTick = (): void => {
    if (
      !stalled &&
      acc.outstanding <= 0 &&
      clockNs() >= acc.measureStart + (internals.stallAtMs ?? 0) * 1e6
    ) {
      stalled = true;
      busyWait(internals.stallMs ?? 1000);
    }
  };

  // Sends probe `seq` of `flow` with this intended time and counts it when it falls in the measurement.
  // Without `intended` (closed-loop modes) the probe is due when it is sent (at `nowNs` when given), so
  // its send lag is 0 by definition: those are counted and recorded in one go after the run.
  const sendProbe = (flow: Flow, intended?: number, nowNs?: number): void => {
    const seq = flow.nextSeq++;
    flow.counters.ensure(seq, intended ?? nowNs ?? clockNs());
    const actualNs = flow.send(seq, seq % o.sizes.length, intended, nowNs);
    if (acc.driver) {
      flow.inflight++;
      flow.pendingSeq.push(seq);
      flow.pendingAtNs.push(actualNs);
    }
    acc.noteSent(flow, intended, actualNs);
  };

  if (o.mode === 'rate') {
    let k = 0;
    const schedule = shareSchedule(o, share, t0, internals);
    // The plane's thread computes the schedule itself (scheduleOnPlane: the same slots, flows and sizes
    // as `schedule`, the flows being fresh, their sequence numbers from 0), or JavaScript feeds it a ring
    // of twice what it hands over ahead of time.
    const computed: ConstantSchedule | undefined = scheduleOnPlane(o, internals)
      ? { ...constantShare(o, share, t0, internals), endNs: acc.sendEnd, sizes: o.sizes }
      : undefined;
    const capacity = Math.min(
      1 << 22,
      Math.max(1024, Math.ceil(((2 * FEED_AHEAD_NS) / 1e9) * (o.rate / share.shares))),
    );
    const plane = startPlane(flows, acc, internals, computed ?? capacity);
    if (plane !== undefined) {
      let usage: PlaneUsage | undefined;
      try {
        const feed: Feed | undefined =
          computed === undefined
            ? {
                schedule,
                send: (intendedNs) => {
                  const member = k++ % flows.length;
                  const flow = flows[member] as Flow;
                  const seq = flow.nextSeq++;
                  plane.schedule(member, seq, intendedNs, o.sizes[seq % o.sizes.length] as number);
                },
              }
            : undefined;
        // The feeder looks in only every so often: a cut reaches the plane at once.
        acc.onCut = (endNs) => plane.cut(endNs);
        await runFeeder(feed, () => acc.sendEnd, plane, onTick);
      } finally {
        acc.onCut = undefined;
        usage = plane.stop();
      }
      return { pollNs: 0, plane: usage };
    }
    const stats = await runPacer(
      schedule,
      () => acc.sendEnd,
      {
        send: (intendedNs) => sendProbe(flows[k++ % flows.length] as Flow, intendedNs),
        onTick,
      },
      wake,
    );
    return { pollNs: stats.pollNs };
  }
  const window = o.mode === 'ping-pong' ? 1 : o.window;
  const expireNs = Math.max(10, Math.min(o.drainMs, 200)) * 1e6;
  while (clockNs() < t0) busyWait(0.05);
  const nativeWindow = flows.every((f) => f.startWindow(window, expireNs, acc.measureEnd));
  const plane = nativeWindow ? startPlane(flows, acc, internals) : undefined;
  acc.driver = new WindowDriver(
    flows,
    window,
    expireNs,
    () => acc.sendEnd,
    (f, now) => sendProbe(f, undefined, now),
    onTick,
    nativeWindow ? (f, count, atNs) => acc.sentRun(f, count, f.nextSeq, atNs) : undefined,
    plane,
  );
  let usage: PlaneUsage | undefined;
  try {
    await acc.driver.run();
  } finally {
    // The drain's replies are read on this thread's loop again.
    usage = plane?.stop();
  }
  return usage === undefined ? { pollNs: 0 } : { pollNs: 0, plane: usage };
}

/**
 * The native path with the accounting in C (dataPlaneWanted): the flows move to a thread of their own,
 * the data plane (docs/load.md "I/O path"): with `rate`, in rate mode (a ring of that many scheduled
 * sends, or a schedule the thread computes); else their closed loops (window mode). Undefined: they stay on this thread's loop.
 */
function startPlane(
  flows: readonly Flow[],
  acc: ShareAccounting,
  internals: LoadInternals,
  rate?: number | ConstantSchedule,
): NativePlane | undefined {
  if (!dataPlaneWanted(internals) || acc.tally === undefined) return undefined;
  const clients = flows.map((f) => f.client);
  if (!clients.every((c) => c instanceof NativeClient)) return undefined;
  return NativePlane.start(acc.tally, clients as NativeClient[], rate);
}
