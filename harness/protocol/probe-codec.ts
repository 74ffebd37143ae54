/**
 * The load probe datagram (LOAD.md "Probe datagram"), dependency-free. Layout, big-endian:
 *
 *   0  magic 'ECLT'          4    4  version (1)              1    5  reserved (0)    1
 *   6  flow id u16           2    8  run id                   8   16  sequence u64     8
 *  24  intended send ns u64  8   32  actual send ns u64      8   40  payload length u32 4
 *  44  FNV-1a 32 of bytes 0..43  4   48  filler: xorshift32 stream seeded from (run id, flow, seq)
 *
 * Times and sequence numbers travel as u64 but are handled as JS numbers (exact below 2^53: the
 * generator's clock is ns since its process started), so the hot path allocates no BigInt.
 */

/** The four magic bytes 'ECLT'. */
export const PROBE_MAGIC = 0x45434c54;

/** The probe format version this codec writes and accepts. */
export const PROBE_VERSION = 1;

/** Bytes of the run id. */
export const RUN_ID_BYTES = 8;

/** Header size: the smallest payload a load run allows (--size below it is a usage error). */
export const PROBE_HEADER_BYTES = 48;

/** Largest flow id the header can carry. */
export const MAX_FLOW_ID = 0xffff;

const CHECKSUM_OFFSET = 44;
const TWO_32 = 0x1_0000_0000;

/** The fields of one probe. Times are ns on the generator's monotonic clock. */
export interface ProbeFields {
  /** RUN_ID_BYTES random bytes per run. */
  readonly runId: Uint8Array;
  readonly flow: number;
  readonly seq: number;
  readonly intendedNs: number;
  readonly actualNs: number;
  /** Total datagram length, header included. */
  readonly length: number;
}

/** A probe whose header and every filler byte checked out. */
export interface DecodedProbe extends ProbeFields {
  readonly kind: 'probe';
}

/** What decodeProbe made of a datagram. `probe` on truncated/corrupted is set when the header was intact. */
export type ProbeDecode =
  | DecodedProbe
  | { readonly kind: 'foreign' }
  | { readonly kind: 'truncated'; readonly probe?: ProbeFields }
  | { readonly kind: 'corrupted'; readonly probe?: ProbeFields };

/** FNV-1a 32-bit over `buf[start, end)`. */
export function fnv1a32(buf: Uint8Array, start: number, end: number, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = start; i < end; i++) {
    h ^= buf[i] as number;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function mix32(h: number, v: number): number {
  // FNV-1a over the four bytes of v: keeps the seed computation allocation-free.
  for (let s = 24; s >= 0; s -= 8) {
    h ^= (v >>> s) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The filler seed of (run id, flow, seq); never 0 (xorshift32 would stick at 0). */
function fillerSeed(runId: Uint8Array, runIdOffset: number, flow: number, seq: number): number {
  let h = fnv1a32(runId, runIdOffset, runIdOffset + RUN_ID_BYTES);
  h = mix32(h, flow);
  h = mix32(h, Math.floor(seq / TWO_32));
  h = mix32(h, seq >>> 0);
  return h === 0 ? 0x9e3779b9 : h;
}

function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32) >>> 0, offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * TWO_32 + buf.readUInt32BE(offset + 4);
}

/** Writes the filler of (run id, flow, seq) into buf[start, end). */
function writeFiller(buf: Buffer, start: number, end: number, seed: number): void {
  let x = seed;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeUInt32BE(x >>> 0, i);
  }
  if (i < end) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const v = x >>> 0;
    for (let s = 24; i < end; i++, s -= 8) buf[i] = (v >>> s) & 0xff;
  }
}

/** Index of the first filler byte in buf[start, end) that differs from the expected stream, or -1. */
function checkFiller(buf: Buffer, start: number, end: number, seed: number): number {
  let x = seed;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    if (buf.readUInt32BE(i) !== x >>> 0) return i;
  }
  if (i < end) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const v = x >>> 0;
    for (let s = 24; i < end; i++, s -= 8) if (buf[i] !== ((v >>> s) & 0xff)) return i;
  }
  return -1;
}

/**
 * Encodes a probe into `into[0, fields.length)` in place (no allocation) and returns that view length.
 * `into` must hold at least `fields.length` bytes; fields are trusted (the engine validated them).
 */
export function encodeProbe(into: Buffer, fields: ProbeFields): number {
  const { runId, flow, seq, intendedNs, actualNs, length } = fields;
  into.writeUInt32BE(PROBE_MAGIC, 0);
  into[4] = PROBE_VERSION;
  into[5] = 0;
  into.writeUInt16BE(flow, 6);
  for (let i = 0; i < RUN_ID_BYTES; i++) into[8 + i] = runId[i] ?? 0;
  writeU64(into, 16, seq);
  writeU64(into, 24, intendedNs);
  writeU64(into, 32, actualNs);
  into.writeUInt32BE(length, 40);
  into.writeUInt32BE(fnv1a32(into, 0, CHECKSUM_OFFSET), CHECKSUM_OFFSET);
  writeFiller(into, PROBE_HEADER_BYTES, length, fillerSeed(runId, 0, flow, seq));
  return length;
}

/**
 * Rewrites only the send times and checksum of a probe already encoded in `buf` (the filler depends
 * on run, flow and seq, not on times): lets the pacer stamp the actual send time at the last moment.
 */
export function stampProbeTimes(buf: Buffer, intendedNs: number, actualNs: number): void {
  writeU64(buf, 24, intendedNs);
  writeU64(buf, 32, actualNs);
  buf.writeUInt32BE(fnv1a32(buf, 0, CHECKSUM_OFFSET), CHECKSUM_OFFSET);
}

/**
 * Decodes and verifies a datagram byte for byte. With `expectRunId`, a probe of another run is
 * foreign. Bad magic or version is foreign; a bad header checksum, or filler bytes that differ, or
 * extra bytes are corrupted; fewer bytes than the header's length (or than the header) are truncated.
 */
export function decodeProbe(buf: Buffer, expectRunId?: Uint8Array): ProbeDecode {
  const n = buf.length;
  if (n < 4) {
    // A shorter datagram can only be called truncated if what is there is a prefix of the magic.
    if (n === 0) return { kind: 'foreign' };
    for (let i = 0; i < n; i++)
      if (buf[i] !== ((PROBE_MAGIC >>> (24 - 8 * i)) & 0xff)) return { kind: 'foreign' };
    return { kind: 'truncated' };
  }
  if (buf.readUInt32BE(0) !== PROBE_MAGIC) return { kind: 'foreign' };
  if (n < 5) return { kind: 'truncated' };
  if (buf[4] !== PROBE_VERSION) return { kind: 'foreign' };
  if (expectRunId !== undefined && n >= 8 + RUN_ID_BYTES) {
    for (let i = 0; i < RUN_ID_BYTES; i++) if (buf[8 + i] !== expectRunId[i]) return { kind: 'foreign' };
  }
  if (n < PROBE_HEADER_BYTES) return { kind: 'truncated' };
  if (buf.readUInt32BE(CHECKSUM_OFFSET) !== fnv1a32(buf, 0, CHECKSUM_OFFSET)) return { kind: 'corrupted' };
  const probe: ProbeFields = {
    runId: buf.subarray(8, 8 + RUN_ID_BYTES),
    flow: buf.readUInt16BE(6),
    seq: readU64(buf, 16),
    intendedNs: readU64(buf, 24),
    actualNs: readU64(buf, 32),
    length: buf.readUInt32BE(40),
  };
  if (probe.length < PROBE_HEADER_BYTES) return { kind: 'corrupted', probe };
  const seed = fillerSeed(buf, 8, probe.flow, probe.seq);
  if (n < probe.length) {
    // Truncated, unless the bytes that did arrive are wrong too: then it is corrupted.
    return checkFiller(buf, PROBE_HEADER_BYTES, n, seed) === -1
      ? { kind: 'truncated', probe }
      : { kind: 'corrupted', probe };
  }
  if (n > probe.length) return { kind: 'corrupted', probe };
  if (checkFiller(buf, PROBE_HEADER_BYTES, n, seed) !== -1) return { kind: 'corrupted', probe };
  return { kind: 'probe', ...probe };
}
