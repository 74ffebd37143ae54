/** The drain of one share: after the last send, wait for the replies still on their way before counting loss. */
import type { ShareAccounting } from './accounting.js';
import { clockNs } from './clock.js';

/** Quiet time after the last outstanding reply, so trailing duplicates are still counted, ms. */
const SETTLE_MS = 100;

/**
 * Resolves when every measured probe is answered (plus a short settle for trailing duplicates) or
 * `drainMs` after the last send, whichever comes first.
 */
export function drain(acc: ShareAccounting, lastSendNs: number, drainMs: number): Promise<void> {
  const drainEnd = lastSendNs + drainMs * 1e6;
  return new Promise<void>((resolve) => {
    const check = (): void => {
      const now = clockNs();
      const quietSince = Math.max(acc.lastAnswerNs, lastSendNs);
      if (
        now >= drainEnd ||
        (acc.outstanding <= 0 && now - quietSince >= Math.min(SETTLE_MS, drainMs) * 1e6)
      ) {
        resolve();
        return;
      }
      setTimeout(check, 5);
    };
    check();
  });
}
