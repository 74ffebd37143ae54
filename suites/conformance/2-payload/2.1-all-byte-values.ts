import { allByteValues } from '../../../harness/protocol/payloads.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 2.1: all 256 byte values come back unchanged. */
export const case2_1: ConformanceCase = {
  id: '2.1',
  title: 'all 256 byte values come back unchanged',
  klass: 'MUST',
  requirement: 'A datagram holding every byte value 0x00-0xff comes back byte for byte.',
  source: 'RFC 862',
  provenBy: ['nul-terminated', 'utf8-reencode'],
  run: async (ctx) => judgeBytes(ctx, await request(ctx, () => allByteValues())),
};
