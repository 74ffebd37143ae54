import fc from 'fast-check';
import { seededBytes } from '../../../harness/protocol/payloads.js';
import { exchangeEvidence, type Exchange } from '../../../harness/conformance/exchange.js';
import { maxPayload } from '../../../harness/protocol/constants.js';
import { checkProperty, propertyEvidence } from '../support/property.js';
import { met, violated } from '../../../harness/conformance/case.js';
import { request } from '../../../harness/conformance/request.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** How long after a reply a second one still counts (short: the property runs many times; 5.1 waits longer). */
const AMPLIFICATION_GRACE_MS = 50;

/** 2.6: property: at most one reply, never longer than the request. */
export const case2_6: ConformanceCase = {
  id: '2.6',
  title: 'property: at most one reply, never longer than the request',
  klass: 'MUST',
  requirement:
    'For every payload, at most one reply arrives and it is never longer than the request (amplification <= 1; fast-check).',
  source: 'RFC 862, CVE-1999-0103 (reflection amplification)',
  provenBy: ['duplicate', 'utf8-reencode', 'pad-to-64'],
  run: async (ctx) => {
    const max = maxPayload(ctx.target.family);
    // Small sizes matter most (padding to a minimum length, appended trailers), but any size may amplify.
    const sizeArb = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 128 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max }) },
    );
    let retried = false;
    let exchanges = 0;
    let unanswered = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    let failure: Exchange | undefined;
    const property = fc.asyncProperty(sizeArb, fc.integer(), async (size, seed) => {
      const r = await request(ctx, () => seededBytes(size, seed), {
        graceMs: AMPLIFICATION_GRACE_MS,
        bufferBytes: 1 << 20,
      });
      exchanges++;
      // No reply is not amplification: losing datagrams is judged by 1.x and 2.5.
      if (!r.reply) {
        unanswered++;
        return true;
      }
      if (r.attempts > 1) retried = true;
      const replies = [r.reply, ...r.extra];
      bytesOut += r.request.payload.length;
      bytesIn += replies.reduce((n, d) => n + d.data.length, 0);
      // A second copy is the ledger's to judge (a breach of this case, repeated with fresh payloads).
      const ok = r.reply.data.length <= r.request.payload.length;
      if (!ok) failure = r;
      return ok;
    });
    const details = await checkProperty(ctx, property, {
      // Each run waits a grace window for a second reply, so this property runs an eighth as often as 2.5.
      numRuns: ctx.timing.scale(Math.max(1, Math.ceil(ctx.options.numRuns / 8)), 5, true, 8000),
      examples: [
        [0, 1],
        [1, 2],
        [63, 3],
        [max, 4],
      ],
      timeLimitMs: 20_000,
    });
    const evidence = {
      ...propertyEvidence(ctx, '2.6', details),
      exchanges,
      unanswered,
      graceMs: AMPLIFICATION_GRACE_MS,
      bytesSent: bytesOut,
      bytesReceived: bytesIn,
      ...(details.failed && failure
        ? {
            exchange: exchangeEvidence(failure),
            replyLengths: [failure.reply, ...failure.extra].map((d) => d?.data.length ?? 0),
          }
        : {}),
    };
    if (details.failed) {
      let what = String(details.errorInstance);
      if (failure?.reply) {
        const sent = failure.request.payload.length;
        const lengths = [failure.reply, ...failure.extra].map((d) => d.data.length);
        what =
          lengths.length > 1
            ? `${lengths.length} replies (${lengths.join(' + ')} bytes) to one request of ${sent} bytes`
            : `a reply of ${lengths[0]} bytes to a request of ${sent} bytes (amplification ${(sent === 0 ? Infinity : (lengths[0] ?? 0) / sent).toFixed(2)})`;
      }
      return violated(
        `counterexample: ${what} (seed ${details.seed}, path ${details.counterexamplePath})`,
        evidence,
      );
    }
    return met(
      `${details.numRuns} payloads of 0..${max} bytes: never more than one reply, never longer than the request (seed ${details.seed})`,
      evidence,
      retried ? 2 : 1,
    );
  },
};
