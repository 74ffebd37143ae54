import { met } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 1.2: a zero-length datagram comes back as a zero-length datagram. */
export const case1_2: ConformanceCase = {
  id: '1.2',
  title: 'a zero-length datagram comes back as a zero-length datagram',
  klass: 'MUST',
  requirement: 'A zero-length datagram is echoed as a zero-length datagram.',
  source: 'RFC 862, RFC 768 (a zero-length payload is legal)',
  provenBy: ['drops-empty', 'pad-to-64'],
  run: async (ctx) => {
    const r = await request(ctx, () => Buffer.alloc(0));
    const outcome = judgeBytes(ctx, r);
    return outcome.status === 'met'
      ? met('a zero-length datagram came back as a zero-length datagram', outcome.evidence, r.attempts)
      : outcome;
  },
};
