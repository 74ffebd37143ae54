import { exchangeEvidence } from '../../../harness/conformance/exchange.js';
import { met, violated } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 1.4: the reply's source port is the port the request was sent to. */
export const case1_4: ConformanceCase = {
  id: '1.4',
  title: "the reply's source port is the port the request was sent to",
  klass: 'MUST',
  requirement: 'The server swaps source and destination: the reply leaves from the port the client sent to.',
  source: 'RFC 862, RFC 768',
  provenBy: ['fresh-socket'],
  run: async (ctx) => {
    const r = await request(ctx, () => ctx.wire.text());
    const evidence = { exchange: exchangeEvidence(r) };
    if (!r.reply) return judgeBytes(ctx, r);
    if (r.reply.from.port !== ctx.target.port) {
      return violated(
        `the reply came from port ${r.reply.from.port}; the request was sent to port ${ctx.target.port}`,
        evidence,
        r.attempts,
      );
    }
    return met(`the reply came from port ${r.reply.from.port}`, evidence, r.attempts);
  },
};
