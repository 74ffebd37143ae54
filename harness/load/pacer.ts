/**
 * Rate mode's open-loop pacer: send times are fixed in advance (t_i = t0 + i/rate, or Poisson arrivals),
 * and a timer loop sends every probe whose intended time has passed. A late tick therefore sends a
 * burst of overdue probes, each stamped with its intended time: never "sleep, then send one". On the
 * native data plane the feeder (runFeeder) hands the schedule to the plane's thread ahead of time
 * instead (or, with constant arrivals, the thread computes it), and that thread sends each probe at its
 * time.
 */
import { performance } from 'node:perf_hooks';
import { clockNs } from './clock.js';

/** A time of this thread's clockNs as epoch ms (the wake timer's helper thread has another time origin). */
const epochOfClockNs = (ns: number): number => performance.timeOrigin + ns / 1e6;
import type { Arrival } from './types.js';

/** Yields intended send times in ns, in order. */
export type Schedule = () => number;

/** Most sends per tick before the loop yields to I/O (replies must still be read while catching up). */
export const MAX_BURST = 2048;

/** Above this wait a plain timer is precise enough (timers have ~1 ms granularity). */
const TIMER_ABOVE_NS = 1.5e6;

/** Below this wait the loop re-checks on setImmediate (polling); between it and TIMER_ABOVE_NS the wake timer sleeps for it. */
const POLL_BELOW_NS = 250e3;

/** The wake timer's helper thread and the message hop wake this much late at most (typically): it is asked to wake this early. */
const WAKE_EARLY_NS = 200e3;

/** The schedule of `arrival` at `rate` per second from `t0Ns`; constant times are computed, never accumulated. */
export function makeSchedule(
  arrival: Arrival,
  t0Ns: number,
  rate: number,
  random: () => number = Math.random,
): Schedule {
  const periodNs = 1e9 / rate;
  let i = 0;
  if (arrival === 'constant') return () => t0Ns + i++ * periodNs;
  let t = t0Ns;
  return () => {
    const at = t;
    t += -Math.log(1 - random()) * periodNs;
    return at;
  };
}

/** Hooks of the pacer loop. */
export interface PacerHooks {
  /** Sends one probe with this intended time. */
  readonly send: (intendedNs: number) => void;
  /** Runs at the start of every tick (test stall hook). */
  readonly onTick?: () => void;
}

/** What the pacer did besides sending: how long it polled for the next send time. */
export interface PacerStats {
  /** Time spent re-checking on setImmediate for a send less than POLL_BELOW_NS away, ns: busy in the event loop's eyes, but idle work. */
  readonly pollNs: number;
}

/**
 * Runs the schedule until `endNs` (exclusive; a function is read on every tick, so a run cut short
 * stops at its next tick); resolves once every probe scheduled before it was sent.
 * Waits: a timer when the next send is far, the wake timer's helper thread when it is within a timer's
 * granularity, and polling only for the last POLL_BELOW_NS, so the pacer does not keep a core busy.
 */
export function runPacer(
  schedule: Schedule,
  endNs: number | (() => number),
  hooks: PacerHooks,
  wake?: { wakeAt(epochMs: number, cb: () => void): void },
): Promise<PacerStats> {
  const end = typeof endNs === 'number' ? (): number => endNs : endNs;
  return new Promise((resolve) => {
    let next = schedule();
    let pollNs = 0;
    let pollSince = -1;
    const tick = (): void => {
      if (pollSince >= 0) {
        pollNs += clockNs() - pollSince;
        pollSince = -1;
      }
      hooks.onTick?.();
      let now = clockNs();
      let budget = MAX_BURST;
      while (next < end() && budget > 0) {
        if (next > now) {
          now = clockNs();
          if (next > now) break;
        }
        hooks.send(next);
        next = schedule();
        budget--;
      }
      if (next >= end()) {
        resolve({ pollNs });
        return;
      }
      const wait = next - clockNs();
      if (wait > TIMER_ABOVE_NS) setTimeout(tick, Math.floor((wait - 1e6) / 1e6));
      else if (wake && wait > POLL_BELOW_NS) wake.wakeAt(epochOfClockNs(next - WAKE_EARLY_NS), tick);
      else {
        if (wait > 0) pollSince = clockNs();
        setImmediate(tick);
      }
    };
    tick();
  });
}

/** How far ahead of their intended time probes are handed to the data plane, ns: a pause of this thread shorter than this (a GC pause) does not delay a send. */
export const FEED_AHEAD_NS = 20e6;

/** How often the feeder tops the data plane's ring up, ms. */
const FEED_EVERY_MS = 2;

/**
 * How often the feeder looks in on a plane that computes its schedule itself, ms: to pass a cut on and
 * hand the sockets' reports on. Each look is a wake-up of this thread, which preempts the plane's thread
 * when the two share a CPU, and a send due meanwhile goes out late (docs/load.md "Rate precision").
 */
const WATCH_EVERY_MS = 100;

/** The data plane as the feeder sees it (NativePlane in rate mode). */
export interface FeedTarget {
  /** Ring entries free for new sends. */
  readonly free: number;
  /** Sends handed over (or, on a schedule the plane computes, due before the end) and not sent yet. */
  readonly unsent: number;
  /** Hands the sends written since the last call to the thread; updates unsent. */
  flush(): void;
  /** Sending ends at this clockNs, if earlier than before. */
  cut(endNs: number): void;
  /** Hands on what the sockets reported. */
  poll(): void;
}

/** What the feeder writes into the plane's ring: the schedule, and `send`, which writes one probe of it. */
export interface Feed {
  readonly schedule: Schedule;
  readonly send: (intendedNs: number) => void;
}

/**
 * Runs the schedule until `endNs` (read on every tick: a run cut short stops there) on the data plane:
 * every tick writes each probe of `feed` intended within FEED_AHEAD_NS into the ring and hands them over;
 * without a feed the plane computes the schedule itself (constant arrivals), and a tick only passes a cut
 * on and polls. Resolves once the thread has sent (or, after a cut, dropped) every probe before the end.
 */
export function runFeeder(
  feed: Feed | undefined,
  endNs: () => number,
  target: FeedTarget,
  onTick?: () => void,
): Promise<void> {
  return new Promise((resolve) => {
    let next = feed === undefined ? Infinity : feed.schedule();
    const tick = (): void => {
      onTick?.();
      const end = endNs();
      target.cut(end);
      if (feed !== undefined) {
        const horizon = Math.min(end, clockNs() + FEED_AHEAD_NS);
        for (let free = target.free; next < horizon && free > 0; free--) {
          feed.send(next);
          next = feed.schedule();
        }
      }
      target.flush();
      target.poll();
      if ((feed === undefined || next >= end) && target.unsent === 0) {
        resolve();
        return;
      }
      setTimeout(tick, feed === undefined ? WATCH_EVERY_MS : FEED_EVERY_MS);
    };
    tick();
  });
}
