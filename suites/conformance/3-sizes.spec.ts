import pLimit from 'p-limit';
import { patternPayload } from '../../harness/probes/payloads.js';
import { exchangeEvidence } from '../../harness/probes/exchange.js';
import { MAX_PAYLOAD_IPV4, SIZE_LADDER } from '../../harness/protocol/constants.js';
import { errnoOf } from '../../harness/errors.js';
import { conformanceCase, met, unsupported, violated } from '../support/case.js';
import { judgeBytes, request } from '../support/request.js';

/** Sizes of the ladder in flight at once: fast on a good server, bounded wait on one that drops large datagrams. */
const LADDER_CONCURRENCY = 8;

/** Socket buffers large enough for the biggest datagrams, so the client never drops them itself. */
const BIG_BUFFER = 1 << 20;

describe('3 Sizes', () => {
  conformanceCase('3.1', async (run) => {
    const limit = pLimit(LADDER_CONCURRENCY);
    const rows = await Promise.all(
      SIZE_LADDER.map((size) =>
        limit(async () => {
          const r = await request(run, () => patternPayload(size), { bufferBytes: BIG_BUFFER });
          return { size, r, outcome: judgeBytes(run, r) };
        }),
      ),
    );
    const bad = rows.filter((row) => row.outcome.status !== 'met');
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
    return met(
      `all ${rows.length} sizes from ${SIZE_LADDER[0]} to ${SIZE_LADDER.at(-1)} bytes came back unchanged`,
      evidence,
      attempts,
    );
  });

  conformanceCase('3.2', async (run) => {
    if (run.target.family !== 'IPv4') return unsupported('the target is IPv6; 65507 bytes is the IPv4 limit');
    try {
      const r = await request(run, () => patternPayload(MAX_PAYLOAD_IPV4), { bufferBytes: BIG_BUFFER });
      return judgeBytes(run, r);
    } catch (err) {
      if (errnoOf(err) === 'EMSGSIZE') {
        return unsupported(`this client cannot send ${MAX_PAYLOAD_IPV4}-byte datagrams (EMSGSIZE)`);
      }
      throw err;
    }
  });
});
