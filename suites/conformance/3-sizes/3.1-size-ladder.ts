import pLimit from 'p-limit';
import { patternPayload } from '../../../harness/protocol/payloads.js';
import { exchangeEvidence } from '../../../harness/conformance/exchange.js';
import { SIZE_LADDER } from '../../../harness/protocol/constants.js';
import { lossy, met, violated } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import { BIG_BUFFER } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Sizes of the ladder in flight at once: fast on a good server, bounded wait on one that drops large datagrams. */
const LADDER_CONCURRENCY = 8;

/** 3.1: the size ladder from 1 to 32768 bytes comes back unchanged. */
export const case3_1: ConformanceCase = {
  id: '3.1',
  title: 'the size ladder from 1 to 32768 bytes comes back unchanged',
  klass: 'MUST',
  requirement:
    'Every size of the boundary ladder (1 .. 32768, around 256, 512, 1024, MTUs, 2^n, jumbo frames) is echoed in full.',
  source: 'RFC 862, RFC 768',
  provenBy: [
    'truncate-1024',
    'shared-peer',
    'pad-to-64',
    'batch-off-by-one',
    'large-replies-from-another-port',
  ],
  run: async (ctx) => {
    const limit = pLimit(ctx.timing.concurrency(LADDER_CONCURRENCY));
    const rows = await Promise.all(
      SIZE_LADDER.map((size) =>
        limit(async () => {
          const r = await request(ctx, () => patternPayload(size, ctx.wire.nonce()), {
            bufferBytes: BIG_BUFFER,
          });
          return { size, r, outcome: judgeBytes(ctx, r) };
        }),
      ),
    );
    // A size the path lost while the target echoes it (its fragments) is no wrong size: reported apart.
    const lost = rows.filter((row) => row.outcome.status === 'lossy');
    const bad = rows.filter((row) => row.outcome.status !== 'met' && row.outcome.status !== 'lossy');
    const attempts = Math.max(...rows.map((row) => row.r.attempts));
    const evidence = {
      sizes: rows.map((row) => ({
        size: row.size,
        result: row.outcome.message,
        rttMs: exchangeEvidence(row.r).rttMs,
      })),
      ...(bad[0] ? { firstFailure: exchangeEvidence(bad[0].r) } : {}),
    };
    if (bad.length > 0) {
      const first = bad[0];
      return violated(
        `${bad.length} of ${rows.length} sizes wrong; first: ${first?.size} bytes: ${first?.outcome.message}` +
          (bad.length > 1
            ? `; also ${bad
                .slice(1, 6)
                .map((b) => b.size)
                .join(', ')}${bad.length > 6 ? ', ...' : ''}`
            : ''),
        evidence,
        attempts,
      );
    }
    if (lost.length > 0) {
      return lossy(
        `size-dependent loss on the path at ${lost.map((row) => row.size).join(', ')} bytes (the other ${
          rows.length - lost.length
        } sizes came back unchanged): ${lost[0]?.r.pathLoss ?? ''}`,
        evidence,
      );
    }
    return met(
      `all ${rows.length} sizes from ${SIZE_LADDER[0]} to ${SIZE_LADDER.at(-1)} bytes came back unchanged`,
      evidence,
      attempts,
    );
  },
};
