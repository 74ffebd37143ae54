/** The generator's clock: monotonic ns since the process started, as a JS number (exact below 2^53). */
import { performance } from 'node:perf_hooks';

/** Monotonic time in ns as a number: no BigInt on the hot path. */
export const clockNs = (): number => Math.round(performance.now() * 1e6);

/** Blocks the event loop for `ms` (test hook that simulates a stalled generator). */
export function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin: a stall of the generator's own event loop is exactly what this simulates
  }
}
