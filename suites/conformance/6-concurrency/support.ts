import type { Datagram } from '../../../harness/net/echo-client.js';
import type { LedgerSocket } from '../../../harness/conformance/ledger.js';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { escapeBytes } from '../../../harness/core/escape.js';

/** How long after the expected replies a further copy still counts (short; 5.1 waits longer for duplicates). */
export const GRACE_MS = 50;

/** The first bytes of a datagram as escaped text, for messages. */
export const preview = (d: Datagram): string =>
  `'${escapeBytes(d.data, 40)}${d.data.length > 40 ? '...' : ''}' (${d.data.length} bytes)`;

/** Opens `n` client sockets of the target's family (watched by the ledger to the end of the run). */
export function openClients(ctx: CaseContext, n: number): Promise<LedgerSocket[]> {
  return Promise.all(Array.from({ length: n }, () => ctx.wire.open({ bufferBytes: 1 << 20 })));
}
