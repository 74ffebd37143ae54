import pLimit from 'p-limit';
import { nonce } from '../../harness/probes/payloads.js';
import { exchangeEvidence } from '../../harness/probes/exchange.js';
import { conformanceCase, met, violated } from '../support/case.js';
import { judgeBytes, request } from '../support/request.js';

/** Requests of case 5.1, each from its own socket. */
const REQUESTS = 8;

/** How long after the first reply a second one still counts as a duplicate. */
const GRACE_MS = 400;

describe('5 Reply cardinality', () => {
  conformanceCase('5.1', async (run) => {
    const limit = pLimit(REQUESTS);
    const results = await Promise.all(
      Array.from({ length: REQUESTS }, () =>
        limit(() =>
          request(run, () => Buffer.from(`echolot 5.1 ${nonce()}`, 'latin1'), { graceMs: GRACE_MS }),
        ),
      ),
    );
    const attempts = Math.max(...results.map((r) => r.attempts));
    const evidence = {
      requests: REQUESTS,
      graceMs: GRACE_MS,
      repliesPerRequest: results.map((r) => (r.reply ? 1 + r.extra.length : 0)),
    };
    const unanswered = results.find((r) => !r.reply);
    if (unanswered) return judgeBytes(run, unanswered);
    const dup = results.find((r) => r.extra.length > 0);
    if (dup) {
      return violated(
        `${1 + dup.extra.length} replies to one request within ${GRACE_MS} ms (${results.filter((r) => r.extra.length > 0).length} of ${REQUESTS} requests duplicated)`,
        { ...evidence, exchange: exchangeEvidence(dup) },
        attempts,
      );
    }
    return met(
      `each of ${REQUESTS} requests got exactly one reply (grace window ${GRACE_MS} ms)`,
      evidence,
      attempts,
    );
  });
});
