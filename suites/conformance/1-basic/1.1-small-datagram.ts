import { met, type ConformanceCase } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';

/** How long to keep listening for a second reply to one request (the ledger listens on to the end of the run). */
const GRACE_MS = 250;

/** 1.1: a small datagram comes back exactly once. */
export const case1_1: ConformanceCase = {
  id: '1.1',
  title: 'a small datagram comes back exactly once',
  klass: 'MUST',
  requirement: 'A small datagram comes back exactly once, with the same bytes and the same length.',
  source: 'RFC 862',
  provenBy: ['duplicate', 'pad-to-64', 'stray-keepalive'],
  run: async (ctx) => {
    const r = await request(ctx, () => ctx.wire.text(), { graceMs: GRACE_MS });
    const bytes = judgeBytes(ctx, r);
    if (bytes.status !== 'met') return bytes;
    // A second copy is a breach the ledger records, within this window or later in the run.
    return met(`${bytes.message}, exactly once`, bytes.evidence, r.attempts);
  },
};
