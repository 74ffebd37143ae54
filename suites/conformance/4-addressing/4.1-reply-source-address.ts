import { exchangeEvidence } from '../../../harness/conformance/exchange.js';
import { met, violated } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import { normalizeAddress } from '../../../harness/core/address.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 4.1: the reply's source address is the address the request was sent to. */
export const case4_1: ConformanceCase = {
  id: '4.1',
  title: "the reply's source address is the address the request was sent to",
  klass: 'SHOULD',
  requirement: "For an unconnected client, the reply's source IP equals the IP the request was sent to.",
  source: 'RFC 1122 §4.1.3.5, RFC 2181 §4.1',
  provenBy: ['wildcard-bound-via-alias'],
  run: async (ctx) => {
    const r = await request(ctx, () => ctx.wire.text());
    if (!r.reply) return judgeBytes(ctx, r);
    const evidence = { exchange: exchangeEvidence(r) };
    const from = normalizeAddress(r.reply.from.address);
    if (from !== normalizeAddress(ctx.target.address)) {
      return violated(
        `the reply came from ${from}; the request was sent to ${ctx.target.address}`,
        evidence,
        r.attempts,
      );
    }
    return met(`the reply came from ${from}, the address the request was sent to`, evidence, r.attempts);
  },
};
