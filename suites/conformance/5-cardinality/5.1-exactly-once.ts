import pLimit from 'p-limit';
import { met } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Requests of case 5.1, each from its own socket. */
const REQUESTS = 8;

/** How long after the first reply a second one still counts as a duplicate. */
const GRACE_MS = 400;

/** 5.1: exactly one reply per request. */
export const case5_1: ConformanceCase = {
  id: '5.1',
  title: 'exactly one reply per request',
  klass: 'MUST',
  requirement:
    'Each request gets exactly one reply: nothing more arrives within a grace window after the first.',
  source: 'RFC 862',
  provenBy: ['shared-peer', 'duplicate', 'stray-keepalive', 'late-duplicate'],
  run: async (ctx) => {
    const limit = pLimit(ctx.timing.concurrency(REQUESTS));
    const results = await Promise.all(
      Array.from({ length: REQUESTS }, () =>
        limit(() => request(ctx, () => ctx.wire.text(), { graceMs: GRACE_MS })),
      ),
    );
    const attempts = Math.max(...results.map((r) => r.attempts));
    const evidence = {
      requests: REQUESTS,
      graceMs: GRACE_MS,
      repliesPerRequest: results.map((r) => (r.reply ? 1 + r.extra.length : 0)),
    };
    const unanswered = results.find((r) => !r.reply);
    if (unanswered) return judgeBytes(ctx, unanswered);
    // A further copy, within the window or later in the run, is a breach the ledger records for this case.
    return met(
      `each of ${REQUESTS} requests got exactly one reply (grace window ${GRACE_MS} ms)`,
      evidence,
      attempts,
    );
  },
};
