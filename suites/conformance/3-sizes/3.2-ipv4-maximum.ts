import { patternPayload } from '../../../harness/protocol/payloads.js';
import { MAX_PAYLOAD_IPV4 } from '../../../harness/protocol/constants.js';
import { errnoOf } from '../../../harness/errors.js';
import { unsupported } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import { BIG_BUFFER } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 3.2: 65507 bytes over IPv4 come back unchanged. */
export const case3_2: ConformanceCase = {
  id: '3.2',
  title: '65507 bytes over IPv4 come back unchanged',
  klass: 'MUST',
  capability: 'an IPv4 target and a client that can send 65507-byte datagrams',
  requirement: 'The largest IPv4 UDP payload, 65507 bytes (65535 - 20 - 8), is echoed in full.',
  source: 'RFC 768, RFC 791',
  provenBy: ['truncate-1024', 'large-replies-from-another-port'],
  run: async (ctx) => {
    if (ctx.target.family !== 'IPv4') return unsupported('the target is IPv6; 65507 bytes is the IPv4 limit');
    try {
      const r = await request(ctx, () => patternPayload(MAX_PAYLOAD_IPV4, ctx.wire.nonce()), {
        bufferBytes: BIG_BUFFER,
      });
      return judgeBytes(ctx, r);
    } catch (err) {
      if (errnoOf(err) === 'EMSGSIZE') {
        return unsupported(`this client cannot send ${MAX_PAYLOAD_IPV4}-byte datagrams (EMSGSIZE)`);
      }
      throw err;
    }
  },
};
