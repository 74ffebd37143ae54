/**
 * Rate mode's open-loop pacer: send times are fixed in advance (t_i = t0 + i/rate, or Poisson arrivals),
 * and a timer loop sends every probe whose intended time has passed. A late tick therefore sends a
 * burst of overdue probes, each stamped with its intended time: never "sleep, then send one".
 */
import { clockNs } from './clock.js';
import type { Arrival } from './types.js';

/** Yields intended send times in ns, in order. */
export type Schedule = () => number;

/** Most sends per tick before the loop yields to I/O (replies must still be read while catching up). */
export const MAX_BURST = 2048;

/** Below this wait the loop re-checks on setImmediate instead of a timer (timers have ~1 ms granularity). */
const SPIN_BELOW_NS = 1.5e6;

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

/** Runs the schedule until `endNs` (exclusive); resolves once every probe scheduled before it was sent. */
export function runPacer(schedule: Schedule, endNs: number, hooks: PacerHooks): Promise<void> {
  return new Promise((resolve) => {
    let next = schedule();
    const tick = (): void => {
      hooks.onTick?.();
      let now = clockNs();
      let budget = MAX_BURST;
      while (next < endNs && budget > 0) {
        if (next > now) {
          now = clockNs();
          if (next > now) break;
        }
        hooks.send(next);
        next = schedule();
        budget--;
      }
      if (next >= endNs) {
        resolve();
        return;
      }
      const wait = next - clockNs();
      if (wait > SPIN_BELOW_NS) setTimeout(tick, Math.floor((wait - 1e6) / 1e6));
      else setImmediate(tick);
    };
    tick();
  });
}
