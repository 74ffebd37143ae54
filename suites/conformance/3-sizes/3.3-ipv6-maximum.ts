import { patternPayload } from '../../../harness/protocol/payloads.js';
import { exchangeEvidence, noReplyPhrase, type Exchange } from '../../../harness/conformance/exchange.js';
import { MAX_PAYLOAD_IPV6 } from '../../../harness/protocol/constants.js';
import { errnoOf } from '../../../harness/errors.js';
import { comparePayloads } from '../../../harness/results/evidence.js';
import { met, unsupported, violated } from '../../../harness/conformance/case.js';
import { ipv6AddressOf } from '../support/ipv6-address.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import { formatEndpoint } from '../../../harness/core/address.js';
import { BIG_BUFFER } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 3.3: 65527 bytes over IPv6 come back unchanged. */
export const case3_3: ConformanceCase = {
  id: '3.3',
  title: '65527 bytes over IPv6 come back unchanged',
  klass: 'MUST',
  capability:
    'an IPv6 address of the server (the target, ::1 for a local target, or a host name with AAAA) and a client that can send 65527-byte datagrams',
  requirement: 'The largest IPv6 UDP payload without jumbograms, 65527 bytes (65535 - 8), is echoed in full.',
  source: 'RFC 768, RFC 8200',
  provenBy: ['ipv6-truncate-65507', 'dual-stack-ipv6-truncate-65507', 'ipv6-truncate-1024'],
  run: async (ctx) => {
    const sendable = ctx.capabilities.maxDatagram.IPv6;
    if (sendable < MAX_PAYLOAD_IPV6) {
      return unsupported(
        sendable === 0
          ? 'this client cannot send IPv6 datagrams here (no ::1)'
          : `this client can send at most ${sendable} bytes over IPv6, not ${MAX_PAYLOAD_IPV6}`,
      );
    }
    const v6 = await ipv6AddressOf(ctx);
    if (v6.kind === 'unknown') return unsupported(v6.reason);
    const to = { address: v6.address, port: ctx.target.port };
    const where = formatEndpoint(v6.address, ctx.target.port);
    // A further address of the target may be answered from another of its addresses: that is 4.4's and 8.2's finding, not a size's.
    const base = { to, family: 'IPv6' as const, ...(v6.further ? { addressJudgedByCase: true } : {}) };
    const evidence: Record<string, unknown> = {
      ipv6Address: where,
      how: v6.how,
      ...(v6.further ? { replySource: 'not judged here (cases 4.4 and 8.x judge the addresses)' } : {}),
    };
    if (!v6.isTarget) {
      // An address derived from an IPv4 target may not be the same server: a small echo must come back first.
      const small = await request(ctx, () => ctx.wire.text('confirmation'), {
        ...base,
        connected: !v6.further,
      });
      evidence['confirmation'] = exchangeEvidence(small);
      if (!small.reply || !comparePayloads(small.request.payload, small.reply.data).equal) {
        const why = small.reply
          ? 'a small datagram did not come back unchanged'
          : noReplyPhrase(small, ctx.timing.timeoutMs);
        return unsupported(
          v6.further
            ? `the server does not answer over IPv6 at ${where}, its address given with --target-addrs (${why}): it does not serve IPv6 there`
            : `no echo server confirmed at ${where} (${why}); target has no known IPv6 address; check [v6]:${ctx.target.port}`,
          evidence,
        );
      }
    }
    let r: Exchange;
    try {
      r = await request(ctx, () => patternPayload(MAX_PAYLOAD_IPV6, ctx.wire.nonce()), {
        ...base,
        bufferBytes: BIG_BUFFER,
      });
    } catch (err) {
      if (errnoOf(err) === 'EMSGSIZE') {
        return unsupported(
          `this client cannot send ${MAX_PAYLOAD_IPV6}-byte datagrams to ${where} (EMSGSIZE)`,
          evidence,
        );
      }
      throw err;
    }
    const outcome = judgeBytes(ctx, r);
    const full = { ...evidence, ...outcome.evidence };
    return outcome.status === 'met'
      ? met(`${outcome.message} at ${where}`, full, outcome.attempts)
      : violated(`${outcome.message} at ${where}`, full, outcome.attempts);
  },
};
