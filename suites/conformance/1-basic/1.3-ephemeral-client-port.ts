import { exchangeEvidence } from '../../../harness/conformance/exchange.js';
import { met, unsupported, violated } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 1.3: the reply arrives on the OS-assigned ephemeral client port. */
export const case1_3: ConformanceCase = {
  id: '1.3',
  title: 'the reply arrives on the OS-assigned ephemeral client port',
  klass: 'MUST',
  requirement:
    'The client sends from an OS-assigned ephemeral port (inside the OS ephemeral range) and the reply arrives on that port.',
  source: 'RFC 862',
  provenBy: ['swapped-port-bytes', 'replies-to-fixed-port'],
  run: async (ctx) => {
    const r = await request(ctx, () => ctx.wire.text());
    const [lo, hi] = ctx.capabilities.ephemeralRange;
    const evidence = { exchange: exchangeEvidence(r), ephemeralRange: `${lo}-${hi}` };
    if (r.local.port < lo || r.local.port > hi) {
      return unsupported(
        `the OS assigned port ${r.local.port}, outside its ephemeral range ${lo}-${hi}`,
        evidence,
      );
    }
    if (!r.reply)
      return violated(
        `no reply arrived on client port ${r.local.port} (${judgeBytes(ctx, r).message})`,
        evidence,
        r.attempts,
      );
    return met(
      `reply arrived on ephemeral client port ${r.local.port} (range ${lo}-${hi})`,
      evidence,
      r.attempts,
    );
  },
};
