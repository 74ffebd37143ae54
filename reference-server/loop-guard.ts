/**
 * The loop guard: ends echo loops between two echo servers (the "Loop DoS" class, CVE-2024-2169), whatever
 * ports they use. One forged datagram (source = server B, destination = server A) makes two RFC 862
 * servers answer each other forever; the source-port checks catch it only when B's port is a well-known
 * one or A's own, so any other port needs this.
 *
 * A loop has one signature an echo server can see: the same peer (address and port) sends back exactly
 * what it was last sent, again and again, one round trip apart. So the guard remembers, per peer and
 * payload, when that payload last came from that peer and how many times in a row it came back within
 * LOOP_GUARD.gapMs of the previous time (the streak). Beyond LOOP_GUARD.repeats the datagram is dropped
 * (counted as 'echo-loop'), which ends the loop: the other server gets nothing more to answer. A client
 * that repeats one payload at a modest rate (one every 20 ms or slower) never builds a streak; any other
 * payload, or a pause longer than the gap, starts over.
 *
 * The table is fixed (LOOP_GUARD.slots entries, a keyed hash of peer and payload picks the slot), so memory
 * does not grow with sources. A slot held by an entry seen within the gap is never taken over: two loops
 * whose payloads share a slot cannot keep resetting each other; the second is tracked once the first has
 * been ended (a gap later). The native I/O path does the same in C (native/echo.c), with the same constants.
 */
import { randomInt } from 'node:crypto';

/** The thresholds of the loop guard; the native module uses the same numbers (native/echolot_io.h). */
export const LOOP_GUARD = Object.freeze({
  /** Repeats answered in a row before the guard drops: one forged datagram costs each server this many echoes. */
  repeats: 8,
  /** Most time between two arrivals of one payload from one peer that still extends the streak, ms. */
  gapMs: 10,
  /** Entries of the table (a power of two). */
  slots: 1 << 16,
});

/** Decides, per datagram about to be answered, whether it continues an echo loop. */
export interface LoopGuard {
  /**
   * True when `payload` from `address`:`port`, arriving at `nowMs`, is the next step of a loop: drop it.
   * Call it only for datagrams that would otherwise be answered; each call counts as answered when false.
   */
  isLoop(address: string, port: number, payload: Uint8Array, nowMs: number): boolean;
}

/** Thresholds of one guard; the defaults are LOOP_GUARD's (tests use smaller tables). */
export interface LoopGuardOptions {
  readonly repeats?: number;
  readonly gapMs?: number;
  /** A power of two. */
  readonly slots?: number;
  /** Hash key; random per guard unless given (a fixed key lets a test predict slots). */
  readonly seed?: number;
}

/** A guard with its own table (one per server on the node:dgram path). */
export function createLoopGuard(options: LoopGuardOptions = {}): LoopGuard {
  const repeats = options.repeats ?? LOOP_GUARD.repeats;
  const gapMs = options.gapMs ?? LOOP_GUARD.gapMs;
  const slots = options.slots ?? LOOP_GUARD.slots;
  if (!Number.isInteger(slots) || slots < 1 || (slots & (slots - 1)) !== 0) {
    throw new RangeError(`loop guard slots must be a power of two, not ${slots}`);
  }
  const mask = slots - 1;
  // A key the sender cannot guess: otherwise payloads could be chosen to share one slot.
  const seed = (options.seed ?? randomInt(0x7fffffff)) | 0;
  const tags = new Int32Array(slots);
  const streaks = new Uint8Array(slots);
  // -Infinity: every slot starts free (older than any gap).
  const last = new Float64Array(slots).fill(Number.NEGATIVE_INFINITY);

  return {
    isLoop(address, port, payload, nowMs) {
      const h = payloadHash(payload, seed);
      const peer = stringHash(address, seed ^ port);
      const key = fmix32(h ^ Math.imul(peer, 0x85ebca6b));
      const slot = key & mask;
      // The tag needs other bits than the slot: the high half of a second mix.
      const tag = fmix32(key ^ 0x5bd1e995) | 1;
      const recent = nowMs - (last[slot] ?? Number.NEGATIVE_INFINITY) <= gapMs;
      if (tags[slot] === tag) {
        streaks[slot] = recent ? Math.min(255, (streaks[slot] ?? 0) + 1) : 1;
      } else if (!recent) {
        tags[slot] = tag;
        streaks[slot] = 1;
      } else {
        // Held by another peer or payload seen within the gap: this one goes untracked (answered) for now.
        return false;
      }
      last[slot] = nowMs;
      return (streaks[slot] ?? 0) > repeats;
    },
  };
}

/** Murmur3's 32-bit finaliser: every input bit moves every output bit. */
function fmix32(x: number): number {
  let h = x ^ (x >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function stringHash(text: string, seed: number): number {
  let h = seed ^ 0x9747b28c;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

/** Whether an Int32Array over bytes reads them little-endian, as the byte-wise path composes them. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A 32-bit keyed hash of every byte of `b`: two lanes of little-endian 32-bit words, then the bytes left
 * over. The value depends on the bytes only; aligned payloads (node:dgram gives each datagram its own
 * ArrayBuffer) are just read faster, as words.
 */
export function payloadHash(b: Uint8Array, seed: number): number {
  const n = b.length;
  const words = n >>> 3;
  let a = seed ^ n;
  let c = Math.imul(seed, 0x27d4eb2f) ^ 0x165667b1;
  if (LITTLE_ENDIAN && words > 0 && b.byteOffset % 4 === 0) {
    const w = new Int32Array(b.buffer, b.byteOffset, words * 2);
    for (let k = 0; k < w.length; k += 2) {
      a = Math.imul(a ^ (w[k] ?? 0), 0xcc9e2d51);
      a = (a << 15) | (a >>> 17);
      c = Math.imul(c ^ (w[k + 1] ?? 0), 0x1b873593);
      c = (c << 13) | (c >>> 19);
    }
  } else {
    for (let i = 0; i < words * 8; i += 8) {
      a = Math.imul(a ^ word(b, i), 0xcc9e2d51);
      a = (a << 15) | (a >>> 17);
      c = Math.imul(c ^ word(b, i + 4), 0x1b873593);
      c = (c << 13) | (c >>> 19);
    }
  }
  for (let i = words * 8; i < n; i++) {
    a = Math.imul(a ^ (b[i] ?? 0), 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
  }
  return fmix32(a ^ fmix32(c));
}

function word(b: Uint8Array, i: number): number {
  return (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24);
}
