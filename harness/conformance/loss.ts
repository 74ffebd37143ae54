/**
 * Loss that grows with size. A datagram larger than a link's MTU travels as fragments, and losing
 * any one loses the datagram: over a path that drops 2% of packets, a 65507-byte echo (45 fragments
 * each way) comes back about one time in six. When every attempt of a large exchange went
 * unanswered and the target echoes smaller datagrams: if it echoed this size or a larger one intact
 * earlier in the run, the path lost it; else more requests of the same size are sent in small
 * rounds, and one that comes back intact shows the same. Either is reported as such (FLAKY), not as
 * a MUST violation. A server that never echoes the size gains nothing but a few short waits.
 */
import type { CaseContext } from './context.js';
import type { Exchange } from './exchange.js';
import type { WireRequest } from './ledger.js';

/** Payloads above this may be fragmented on some path (the IPv6 minimum MTU, less headers). */
export const FRAGMENTED_ABOVE = 1232;

/**
 * Rounds of requests and requests per round. With a 1-in-6 chance per request, 6 rounds of 8 miss
 * every time with odds of 1 in 4000; 8 maximum-size datagrams (512 KiB) stay well inside a host's
 * reassembly memory. The requests of a round go out 20 ms apart.
 */
const CONFIRM = { rounds: 6, perRound: 8, gapMs: 20 } as const;

/** Receive buffer of the confirming socket: a round of maximum-size replies fits. */
const REPLY_BUFFER = 1 << 20;

/** A listening window per round, ms, before the path's round trip and the target's backlog. */
const ROUND_MS = 250;

/**
 * After an exchange whose every attempt timed out: when its payload may be fragmented and the target
 * echoes smaller datagrams, sends further requests of the same size until one comes back intact.
 * Returns the exchange with `pathLoss` set when one did, else unchanged.
 */
export async function confirmSizeLoss(
  ctx: CaseContext,
  r: Exchange,
  makePayload: (attempt: number) => Uint8Array,
): Promise<Exchange> {
  const size = r.request.payload.length;
  const { wire, timing } = ctx;
  if (r.reply || r.fault || !r.timedOut || wire.signal.aborted) return r;
  if (size <= FRAGMENTED_ABOVE || !wire.echoedSmallerThan(size)) return r;
  const attempts = `no reply to ${r.attempts} attempt${r.attempts === 1 ? '' : 's'} of ${size} bytes`;
  const largest = wire.largestEchoed();
  if (largest >= size) {
    // The target echoed this size or a larger one intact in this run: no more large datagrams (each
    // one the path breaks holds the hosts' reassembly memory for up to 30 s).
    return {
      ...r,
      pathLoss:
        `${attempts}, but the target echoed ${largest} bytes intact in this run, and smaller datagrams: ` +
        `the path loses datagrams of this size (their fragments)`,
    };
  }
  const socket = await wire.open({ bufferBytes: REPLY_BUFFER });
  const requests: WireRequest[] = [];
  try {
    const windowMs = timing.windowMs(ROUND_MS) + timing.backlogMs(CONFIRM.perRound);
    for (let round = 1; round <= CONFIRM.rounds && !wire.signal.aborted; round++) {
      for (let i = 0; i < CONFIRM.perRound; i++) {
        // Spaced, so that a round's fragments do not overrun a slow link's queue at once.
        if (i > 0) await new Promise((done) => setTimeout(done, CONFIRM.gapMs));
        const payload = makePayload(r.attempts + requests.length + 1);
        requests.push(await wire.send(socket, payload, { to: r.request.to }));
      }
      const deadline = Date.now() + windowMs;
      for (;;) {
        const e = await socket.next(deadline - Date.now(), wire.signal);
        if (e.kind !== 'arrival') break;
        const a = e.arrival;
        if ((a.kind === 'reply' || a.kind === 'late') && a.request && requests.includes(a.request)) {
          return {
            ...r,
            pathLoss:
              `${attempts}, but one of ${requests.length} more of that size came back intact, ` +
              `and smaller datagrams do: the path loses datagrams of this size (their fragments), the target echoes them`,
          };
        }
      }
    }
    return r;
  } finally {
    wire.stopWaiting(requests);
    socket.release();
  }
}
