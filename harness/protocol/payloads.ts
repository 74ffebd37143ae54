import { randomBytes } from 'node:crypto';

/** A fresh random 8-byte nonce, hex, that makes each request's payload unique. */
export function nonce(): string {
  return randomBytes(8).toString('hex');
}

/**
 * A printable payload of exactly `size` bytes (0x21..0x7e, so no NUL, CR, LF or space) that starts
 * with the nonce where it fits: size cases test sizes, not byte handling.
 */
export function patternPayload(size: number, tag: string = nonce()): Buffer {
  const out = Buffer.allocUnsafe(size);
  const head = Buffer.from(tag, 'latin1');
  head.copy(out, 0, 0, Math.min(size, head.length));
  for (let i = head.length; i < size; i++) out[i] = 0x21 + ((i * 7 + (i >>> 7)) % 94);
  return out;
}

/** Deterministic pseudo-random bytes (xorshift32) from a seed, so a property counterexample is reproducible. */
export function seededBytes(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Every byte value 0x00..0xff once, in order. */
export function allByteValues(): Buffer {
  return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
}
