import { floodEvidence } from '../../../harness/conformance/flood.js';
import { maxPayload } from '../../../harness/protocol/constants.js';
import { met } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';
import { exchangeEvidence } from '../../../harness/conformance/exchange.js';
import { patternPayload } from '../../../harness/protocol/payloads.js';
import { SETTLE_MS, BIG_BUFFER, floodAt, floodPhrase, echoAfter } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/**
 * 10.3: the maximum-size flood stays within a host's reassembly budget: 16 datagrams of 64 KiB are
 * 1 MiB of fragments (Linux keeps up to 4 MiB, for 30 s, of datagrams it could not complete), so a
 * reordering or lossy path cannot leave the target's host unable to take the next run's large ones.
 */
const LARGE_FLOOD = { count: 16, burst: 4, intervalMs: 5 };

/** 10.3: zero-length and maximum-size floods. */
const EMPTY_FLOOD = { count: 5000, burst: 500 };

/** 10.3: a single echo succeeds after zero-length and maximum-size floods. */
export const case10_3: ConformanceCase = {
  id: '10.3',
  title: 'a single echo succeeds after zero-length and maximum-size floods',
  klass: 'MUST',
  requirement:
    'After a flood of zero-length datagrams, and after a flood of maximum-size datagrams, a single echo succeeds within the timeout.',
  source: 'RFC 862, RFC 768 (zero-length and 65507-byte payloads are legal)',
  provenBy: ['edge-triggered-zero-length', 'leaks-large-buffers'],
  disturbs: 'flood',
  run: async (ctx) => {
    const baseline = await request(ctx, () => ctx.wire.text('baseline'));
    const cap = ctx.capabilities.maxDatagram[ctx.target.family];
    const size = cap > 0 ? Math.min(cap, maxPayload(ctx.target.family)) : maxPayload(ctx.target.family);
    const bigPayload = (): Buffer => patternPayload(size, ctx.wire.nonce());
    // Whether the target echoes the largest datagram at all (3.2 grades that): only then must it still
    // do so after the floods.
    const bigBefore = await request(ctx, bigPayload, { bufferBytes: BIG_BUFFER });
    const echoesLargest = judgeBytes(ctx, bigBefore).status === 'met';
    const empty = await floodAt(ctx, {
      count: ctx.timing.floodCount(EMPTY_FLOOD.count),
      size: () => 0,
      burst: EMPTY_FLOOD.burst,
      intervalMs: 0,
      maxSendMs: 1500,
      quietMs: SETTLE_MS,
      maxDrainMs: 1000,
      bufferBytes: BIG_BUFFER,
    });
    const first = await echoAfter(
      ctx,
      `a flood of ${floodPhrase('zero-length datagrams', empty)}`,
      baseline,
      {
        emptyFlood: floodEvidence(empty),
      },
      empty.sent - empty.replies,
    );
    if (first.status !== 'met') return first;
    const large = await floodAt(ctx, {
      count: ctx.timing.floodCount(LARGE_FLOOD.count),
      size: () => size,
      burst: LARGE_FLOOD.burst,
      intervalMs: LARGE_FLOOD.intervalMs,
      maxSendMs: 1500,
      quietMs: SETTLE_MS,
      maxDrainMs: 1000,
      bufferBytes: BIG_BUFFER,
    });
    const second = await echoAfter(
      ctx,
      `a flood of ${floodPhrase(`${size}-byte datagrams`, large)}`,
      baseline,
      {
        emptyFlood: floodEvidence(empty),
        firstEcho: first.evidence?.['echo'],
        largeFlood: floodEvidence(large),
      },
      large.sent - large.replies,
    );
    if (second.status !== 'met') return second;
    if (!echoesLargest) {
      return met(
        `${first.message}; ${second.message}; the ${size}-byte echo is not compared: the target did not echo that size before the floods either`,
        { ...second.evidence, largestBefore: exchangeEvidence(bigBefore) },
        Math.max(first.attempts ?? 1, second.attempts ?? 1),
      );
    }
    // The run leaves the target able to echo the largest datagram: nothing of the flood is still held.
    const big = await request(ctx, bigPayload, { bufferBytes: BIG_BUFFER });
    const last = judgeBytes(ctx, big);
    const evidence = { ...second.evidence, largestEcho: exchangeEvidence(big) };
    if (last.status !== 'met') {
      return { ...last, message: `after both floods, a ${size}-byte echo: ${last.message}`, evidence };
    }
    const attempts = Math.max(first.attempts ?? 1, second.attempts ?? 1, big.attempts);
    return met(
      `${first.message}; ${second.message}; a ${size}-byte echo came back intact`,
      evidence,
      attempts,
    );
  },
};
