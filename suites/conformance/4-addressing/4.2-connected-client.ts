import { exchangeEvidence, noReplyPhrase } from '../../../harness/conformance/exchange.js';
import { exchange } from '../../../harness/conformance/exchange.js';
import { met, violated } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import { formatEndpoint } from '../../../harness/core/address.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 4.2: a connected client receives the reply. */
export const case4_2: ConformanceCase = {
  id: '4.2',
  title: 'a connected client receives the reply',
  klass: 'SHOULD',
  requirement:
    'A client whose socket is connected to the target (so the kernel drops datagrams from any other address or port) receives the reply.',
  source: 'RFC 1122 §4.1.3.5, RFC 2181 §4.1',
  provenBy: ['fresh-socket', 'wildcard-bound-via-alias', 'pad-to-64'],
  run: async (ctx) => {
    const r = await request(ctx, () => ctx.wire.text('connected'), { connected: true });
    if (r.reply) {
      const bytes = judgeBytes(ctx, r);
      if (bytes.status !== 'met') return bytes;
      return met(`the connected socket received the reply: ${bytes.message}`, bytes.evidence, r.attempts);
    }
    const evidence: Record<string, unknown> = { connected: exchangeEvidence(r) };
    if (r.fault) {
      return violated(`the connected socket got ${r.fault.errno} instead of a reply`, evidence, r.attempts);
    }
    // Say where the replies go: an unconnected socket also sees those from another address or port.
    const loose = await exchange(ctx.wire, () => ctx.wire.text('unconnected'), {
      attempts: 1,
      timeoutMs: ctx.timing.timeoutMs,
    });
    evidence['unconnected'] = exchangeEvidence(loose);
    const sentTo = formatEndpoint(ctx.target.address, ctx.target.port);
    const seen = loose.reply
      ? `; an unconnected socket got its reply from ${formatEndpoint(loose.reply.from.address, loose.reply.from.port)} instead of ${sentTo}, which the kernel drops on a connected socket`
      : '';
    return violated(
      `${noReplyPhrase(r, ctx.timing.timeoutMs)} on a socket connected to ${sentTo}${seen}`,
      evidence,
      r.attempts,
    );
  },
};
