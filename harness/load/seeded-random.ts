/** A seeded uniform random source (xoshiro128**), so that a shard's Poisson arrivals are reproducible and independent of the others'. */
import { createHash } from 'node:crypto';

/** Uniform numbers in [0, 1) from `seed` (any text; its SHA-256 seeds the generator's 128-bit state). */
export function seededRandom(seed: string): () => number {
  const h = createHash('sha256').update(seed).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r / 4294967296;
  };
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));
