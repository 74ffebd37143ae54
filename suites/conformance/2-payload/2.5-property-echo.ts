import fc from 'fast-check';
import { seededBytes } from '../../../harness/protocol/payloads.js';
import { exchangeEvidence, type Exchange } from '../../../harness/conformance/exchange.js';
import { comparePayloads } from '../../../harness/results/evidence.js';
import { SIZE_LADDER, maxPayload } from '../../../harness/protocol/constants.js';
import { checkProperty, propertyEvidence } from '../support/property.js';
import { lossy, met, violated } from '../../../harness/conformance/case.js';
import { request } from '../../../harness/conformance/request.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 2.5: property: every payload up to the platform maximum comes back unchanged. */
export const case2_5: ConformanceCase = {
  id: '2.5',
  title: 'property: every payload up to the platform maximum comes back unchanged',
  klass: 'MUST',
  requirement:
    'For every payload p of any length up to the platform maximum, echo(p) == p (fast-check; sizes biased to the boundaries of section 3).',
  source: 'RFC 862',
  provenBy: [
    'truncate-1024',
    'nul-terminated',
    'drops-empty',
    'utf8-reencode',
    'crlf-to-lf',
    'pad-to-64',
    'ipv6-truncate-65507',
    'dies-on-first-large',
    'payload-cache',
  ],
  run: async (ctx) => {
    const max = maxPayload(ctx.target.family);
    // Sizes biased to the boundaries of section 3 and to the extremes, as well as uniform ones.
    const boundaries = [0, ...SIZE_LADDER, max - 1, max].filter((s) => s <= max);
    // An index into the boundaries shrinks through the smaller boundaries (constantFrom would jump to the first).
    const sizeArb = fc.oneof(
      { weight: 3, arbitrary: fc.nat(boundaries.length - 1).map((i) => boundaries[i] ?? 0) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 64 }) },
    );
    let retried = false;
    let failure: Exchange | undefined;
    let exchanges = 0;
    // Sizes the path lost while the target echoed them (their fragments): no counterexample, reported.
    const lost: string[] = [];
    const property = fc.asyncProperty(sizeArb, fc.integer(), async (size, seed) => {
      const r = await request(ctx, () => seededBytes(size, seed));
      exchanges++;
      if (r.attempts > 1) retried = true;
      if (!r.reply && r.pathLoss !== undefined) {
        lost.push(r.pathLoss);
        return true;
      }
      const ok = r.reply !== undefined && comparePayloads(r.request.payload, r.reply.data).equal;
      if (!ok) failure = r;
      return ok;
    });
    // The extremes are always tried first, so every run covers them whatever the seed; the empty
    // payload twice in a row, from two sockets, finds a server that caches replies by payload.
    const details = await checkProperty(ctx, property, {
      numRuns: ctx.timing.scale(ctx.options.numRuns, 20, true, 15_000),
      examples: [
        [0, 1],
        [0, 1],
        [1, 2],
        [max, 3],
      ],
      timeLimitMs: 45_000,
    });
    const evidence = {
      ...propertyEvidence(ctx, '2.5', details),
      exchanges,
      maxSize: max,
      ...(lost.length > 0 ? { pathLoss: lost } : {}),
      ...(details.failed && failure ? { exchange: exchangeEvidence(failure) } : {}),
    };
    if (details.failed) {
      const what = failure
        ? failure.reply
          ? comparePayloads(failure.request.payload, failure.reply.data).summary
          : `no reply to ${failure.request.payload.length} bytes`
        : String(details.errorInstance);
      return violated(
        `counterexample of ${failure?.request.payload.length ?? '?'} bytes: ${what} (seed ${details.seed}, path ${details.counterexamplePath})`,
        evidence,
      );
    }
    if (lost.length > 0) {
      return lossy(
        `size-dependent loss on the path in ${lost.length} of ${details.numRuns} payloads (the others came back unchanged): ${lost[0]}`,
        evidence,
      );
    }
    return met(
      `${details.numRuns} payloads of 0..${max} bytes came back unchanged (seed ${details.seed})`,
      evidence,
      retried ? 2 : 1,
    );
  },
};
