import { createHash } from 'node:crypto';

/** How a received payload compares with the one sent, with enough detail to see the fault. */
export interface PayloadComparison {
  readonly equal: boolean;
  readonly sentLength: number;
  readonly receivedLength: number;
  readonly sentSha256: string;
  readonly receivedSha256: string;
  /** First offset where the bytes differ (or where the shorter one ends). */
  readonly firstDiffOffset?: number;
  /** Hex of the sent bytes around firstDiffOffset, with the offset of the first byte shown. */
  readonly sentHex?: string;
  /** Hex of the received bytes around firstDiffOffset. */
  readonly receivedHex?: string;
  /** One phrase: "identical", "truncated to N bytes", "N bytes longer", "differs at offset X". */
  readonly summary: string;
}

const HEX_CONTEXT = 16;

/** SHA-256 of a payload, hex. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `@offset: aa bb cc` for up to 16 bytes either side of `offset`. */
export function hexAround(data: Uint8Array, offset: number): string {
  const start = Math.max(0, offset - HEX_CONTEXT);
  const end = Math.min(data.length, offset + HEX_CONTEXT);
  const bytes = Array.from(data.subarray(start, end), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `@${start}: ${bytes}${end < data.length ? ' ...' : ''}`;
}

/** Compares sent and received bytes: lengths, hashes, first differing offset and the hex around it. */
export function comparePayloads(sent: Uint8Array, received: Uint8Array): PayloadComparison {
  const common = Math.min(sent.length, received.length);
  let diff = -1;
  for (let i = 0; i < common; i++) {
    if (sent[i] !== received[i]) {
      diff = i;
      break;
    }
  }
  const base = {
    sentLength: sent.length,
    receivedLength: received.length,
    sentSha256: sha256(sent),
    receivedSha256: sha256(received),
  };
  if (diff === -1 && sent.length === received.length) {
    return { ...base, equal: true, summary: `identical (${sent.length} bytes)` };
  }
  const offset = diff === -1 ? common : diff;
  let summary: string;
  if (diff === -1 && received.length < sent.length) {
    summary = `truncated to ${received.length} bytes (sent ${sent.length})`;
  } else if (diff === -1) {
    summary = `${received.length - sent.length} bytes longer than sent (sent ${sent.length}, received ${received.length})`;
  } else {
    const s = (sent[diff] ?? 0).toString(16).padStart(2, '0');
    const r = (received[diff] ?? 0).toString(16).padStart(2, '0');
    summary = `differs at offset ${diff}: sent 0x${s}, received 0x${r} (lengths ${sent.length}/${received.length})`;
  }
  return {
    ...base,
    equal: false,
    firstDiffOffset: offset,
    sentHex: hexAround(sent, offset),
    receivedHex: hexAround(received, offset),
    summary,
  };
}
