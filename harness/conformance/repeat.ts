/**
 * Is a duplicate the server's or the path's? UDP may duplicate a datagram on the way; a server
 * that duplicates does it again. When a case sees a second copy of a reply, a burst of fresh
 * requests of the same size goes out from one socket (the shape that makes per-client reply slots
 * and batching bugs show), listened to for longer than the copy took. Several extra copies again are
 * the server's (FAIL); fewer are a one-off (FLAKY, "possible path duplication"): a path that
 * duplicates 2% of datagrams gives 6 extra copies of 20 requests about twice in a million (a run
 * repeats up to one burst per case, so once in a thousand per burst was too often), a server that
 * duplicates half its replies 98 times in 100.
 */
import { patternPayload } from '../protocol/payloads.js';
import type { Breach, Ledger, WireRequest } from './ledger.js';
import type { Endpoint } from '../core/address.js';
import type { Family } from '../protocol/constants.js';

/** Fresh requests sent in the burst, and the extra copies among their replies that make it the server's. */
export const REPEATS = 20;
export const REPRODUCED_AT = 6;

/** Receive buffer of the repetition's socket: a burst of maximum-size replies and their copies fit. */
const BUFFER = 4 << 20;

/** What the repetition found. */
export interface Repetition {
  /** Copies came again: the duplicates are the server's. */
  readonly reproduced: boolean;
  /** Requests sent, and the extra copies (beyond one reply each) that came back. */
  readonly sent: number;
  readonly extraCopies: number;
  /** How long the burst was listened to after the timeout, ms. */
  readonly windowMs: number;
}

/** The ledger's name for the requests of a repetition: no case's, so they cannot breach one. */
export const REPEAT_CASE = 'repeat';

/**
 * Sends REPEATS fresh requests of the duplicated request's size back to back from one fresh socket
 * and listens for longer than the duplicate took to come; counts the extra copies.
 */
export async function repeatDuplicate(
  ledger: Ledger,
  target: Endpoint & { readonly family: Family },
  breach: Breach,
  timeoutMs: number,
): Promise<Repetition> {
  const original = ledger.requests()[breach.request ?? -1];
  const size = Math.max(original?.length ?? 32, 24);
  const afterMs = Number((breach.evidence as { afterFirstMs?: unknown }).afterFirstMs ?? 0) || 0;
  const windowMs = Math.ceil(Math.max(250, 1.5 * afterMs + 200));
  const to = original?.to ?? target;
  const socket = await ledger.open(REPEAT_CASE, { family: target.family, bufferBytes: BUFFER });
  const sent: WireRequest[] = [];
  for (let i = 0; i < REPEATS; i++)
    sent.push(await ledger.send(socket, patternPayload(size, ledger.nonce()), to));
  socket.release();
  await new Promise((r) => setTimeout(r, timeoutMs + windowMs));
  ledger.stopWaiting(sent);
  const extraCopies = sent.reduce((n, r) => n + Math.max(0, r.copies - 1), 0);
  return { reproduced: extraCopies >= REPRODUCED_AT, sent: sent.length, extraCopies, windowMs };
}
