import { largestEchoed, type SizeProbe } from '../../../harness/probes/binary-search.js';
import { maxPayload } from '../../../harness/protocol/constants.js';
import { info } from '../../../harness/conformance/case.js';
import { BIG_BUFFER } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { request } from '../../../harness/conformance/request.js';
import { errnoOf } from '../../../harness/errors.js';
import { comparePayloads } from '../../../harness/results/evidence.js';
import { noReplyPhrase } from '../../../harness/conformance/exchange.js';
import { patternPayload } from '../../../harness/protocol/payloads.js';

/** One exchange of `size` bytes with the run's target for the binary search of 3.4. */
async function probeSize(ctx: CaseContext, size: number): Promise<SizeProbe> {
  try {
    const r = await request(ctx, () => patternPayload(size, ctx.wire.nonce()), { bufferBytes: BIG_BUFFER });
    if (!r.reply)
      return { size, echoed: false, detail: noReplyPhrase(r, ctx.timing.timeoutMs), attempts: r.attempts };
    const cmp = comparePayloads(r.request.payload, r.reply.data);
    return { size, echoed: cmp.equal, detail: cmp.summary, attempts: r.attempts };
  } catch (err) {
    // The client cannot send this size: for the search it is a size that does not come back.
    if (errnoOf(err) === 'EMSGSIZE')
      return { size, echoed: false, detail: 'this client cannot send it (EMSGSIZE)', attempts: 1 };
    throw err;
  }
}

/** 3.4: the largest size echoed, by binary search. */
export const case3_4: ConformanceCase = {
  id: '3.4',
  title: 'the largest size echoed, by binary search',
  klass: 'INFO',
  requirement:
    "The largest payload the server echoes byte for byte, found by binary search between 0 and the family's maximum.",
  source: 'RFC 862, RFC 768',
  provenBy: ['truncate-1024'],
  run: async (ctx) => {
    const max = maxPayload(ctx.target.family);
    const found = await largestEchoed(max, (size) => probeSize(ctx, size));
    const evidence = {
      familyMax: max,
      exchanges: found.probes.length,
      probes: found.probes.map((p) => ({
        size: p.size,
        echoed: p.echoed,
        result: p.detail,
        attempts: p.attempts,
      })),
    };
    const next = found.firstNotEchoed;
    if (found.largest === undefined) {
      return info(
        `no size came back unchanged, not even 0 bytes (${next?.detail ?? 'no probe'}); ${found.probes.length} probes`,
        evidence,
      );
    }
    if (found.largest === max) {
      return info(
        `largest size echoed: ${max} bytes, the ${ctx.target.family} maximum; ${found.probes.length} probe`,
        evidence,
      );
    }
    return info(
      `largest size echoed: ${found.largest} bytes of 0..${max} (${next?.size} bytes: ${next?.detail}); ${found.probes.length} probes`,
      evidence,
    );
  },
};
