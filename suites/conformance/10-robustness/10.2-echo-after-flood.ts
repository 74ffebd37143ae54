import { floodEvidence } from '../../../harness/conformance/flood.js';
import { request } from '../../../harness/conformance/request.js';
import { SETTLE_MS, BIG_BUFFER, floodAt, floodPhrase, echoAfter } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 10.2: a flood of small datagrams sent as fast as the client hands them over. */
const SMALL_FLOOD = { count: 10_000, size: 32, burst: 500 };

/** 10.2: a single echo succeeds after a flood. */
export const case10_2: ConformanceCase = {
  id: '10.2',
  title: 'a single echo succeeds after a flood',
  klass: 'MUST',
  requirement: 'After a flood of small datagrams, a single echo succeeds within the timeout.',
  source: 'RFC 862',
  provenBy: ['flood-guard-fails-closed'],
  disturbs: 'flood',
  run: async (ctx) => {
    const baseline = await request(ctx, () => ctx.wire.text('baseline'));
    const r = await floodAt(ctx, {
      count: ctx.timing.floodCount(SMALL_FLOOD.count),
      size: () => SMALL_FLOOD.size,
      burst: SMALL_FLOOD.burst,
      intervalMs: 0,
      maxSendMs: 1500,
      quietMs: SETTLE_MS,
      maxDrainMs: 1000,
      bufferBytes: BIG_BUFFER,
    });
    return echoAfter(
      ctx,
      `a flood of ${floodPhrase(`${SMALL_FLOOD.size}-byte datagrams`, r)}`,
      baseline,
      {
        flood: floodEvidence(r),
      },
      r.sent - r.replies,
    );
  },
};
