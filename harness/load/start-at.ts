/** The start of a load run: as soon as the flows are open, or at an absolute time (`--start-at`, shards of one run). */
import { setTimeout as sleep } from 'node:timers/promises';
import { clockNs } from './clock.js';

/** The start of a run on both clocks. */
export interface StartInstant {
  /** t0 on this thread's monotonic clock (clockNs). */
  readonly t0Ns: number;
  /** t0 on the wall clock, epoch ms. */
  readonly t0EpochMs: number;
}

/**
 * Waits until shortly before `startAtEpochMs` (wall clock, this host's) and returns it as t0; a time
 * already past (or none) gives t0 `leadMs` from now. The last few ms are left to the caller's
 * schedule, which starts at t0 exactly.
 */
export async function startInstant(
  startAtEpochMs: number | undefined,
  leadMs: number,
): Promise<StartInstant> {
  if (startAtEpochMs !== undefined) {
    for (;;) {
      const left = startAtEpochMs - Date.now();
      if (left <= leadMs + 5) break;
      await sleep(Math.min(left - leadMs - 2, 1000));
    }
  }
  const nowNs = clockNs();
  const nowEpochMs = Date.now();
  const waitMs = Math.max(leadMs, startAtEpochMs === undefined ? 0 : startAtEpochMs - nowEpochMs);
  return { t0Ns: nowNs + waitMs * 1e6, t0EpochMs: nowEpochMs + waitMs };
}
