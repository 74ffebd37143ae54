import fc from 'fast-check';
import { allByteValues, seededBytes } from '../../harness/probes/payloads.js';
import { exchangeEvidence, type ExchangeResult } from '../../harness/probes/exchange.js';
import { comparePayloads } from '../../harness/results/evidence.js';
import { SIZE_LADDER, maxPayload } from '../../harness/protocol/constants.js';
import { formatEndpoint } from '../../harness/spec/target.js';
import { conformanceCase, met, violated } from '../support/case.js';
import { judgeBytes, request } from '../support/request.js';

describe('2 Payload transparency', () => {
  conformanceCase('2.1', async (run) => judgeBytes(run, await request(run, () => allByteValues())));

  conformanceCase('2.2', async (run) => {
    const variants: [string, Buffer][] = [
      ['start', Buffer.from('00656368 6f6c6f74 2032 2e32'.replace(/ /g, ''), 'hex')],
      ['middle', Buffer.from('6563686f 00 6c6f74 2032 2e32'.replace(/ /g, ''), 'hex')],
      ['end', Buffer.from('6563686f 6c6f74 2032 2e32 00'.replace(/ /g, ''), 'hex')],
    ];
    const exchanges: Record<string, unknown> = {};
    let attempts = 1;
    for (const [where, payload] of variants) {
      const r = await request(run, () => payload);
      attempts = Math.max(attempts, r.attempts);
      const outcome = judgeBytes(run, r);
      exchanges[where] = exchangeEvidence(r);
      if (outcome.status !== 'met')
        return violated(`NUL at the ${where}: ${outcome.message}`, exchanges, attempts);
    }
    return met('NUL at the start, middle and end came back unchanged', exchanges, attempts);
  });

  conformanceCase('2.5', async (run) => {
    const max = maxPayload(run.target.family);
    // Sizes biased to the boundaries of section 3 and to the extremes, as well as uniform ones.
    const boundaries = [0, ...SIZE_LADDER, max - 1, max].filter((s) => s <= max);
    // An index into the boundaries shrinks through the smaller boundaries (constantFrom would jump to the first).
    const sizeArb = fc.oneof(
      { weight: 3, arbitrary: fc.nat(boundaries.length - 1).map((i) => boundaries[i] ?? 0) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 64 }) },
    );
    let retried = false;
    let failure: ExchangeResult | undefined;
    let exchanges = 0;
    const property = fc.asyncProperty(sizeArb, fc.integer(), async (size, seed) => {
      const r = await request(run, () => seededBytes(size, seed));
      exchanges++;
      if (r.attempts > 1) retried = true;
      const ok = r.reply !== undefined && comparePayloads(r.request.payload, r.reply.data).equal;
      if (!ok) failure = r;
      return ok;
    });
    const details = await fc.check(property, {
      seed: run.options.seed,
      numRuns: run.options.numRuns,
      ...(run.options.path === undefined ? {} : { path: run.options.path }),
      // The extremes are always tried first, so every run covers them whatever the seed.
      examples: [
        [0, 1],
        [1, 2],
        [max, 3],
      ],
      interruptAfterTimeLimit: 45_000,
      markInterruptAsFailure: false,
    });
    const target = formatEndpoint(run.target.host, run.target.port);
    const replay = `echolot check ${run.embedded ? '' : `${target} `}--only 2.5 --seed ${details.seed}${
      details.counterexamplePath ? ` --path ${details.counterexamplePath}` : ''
    }`;
    const evidence = {
      seed: details.seed,
      path: details.counterexamplePath,
      numRuns: details.numRuns,
      numShrinks: details.numShrinks,
      interrupted: details.interrupted,
      exchanges,
      maxSize: max,
      replay,
      ...(details.failed && details.counterexample
        ? { counterexample: { size: details.counterexample[0], seed: details.counterexample[1] } }
        : {}),
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
    return met(
      `${details.numRuns} payloads of 0..${max} bytes came back unchanged (seed ${details.seed})`,
      evidence,
      retried ? 2 : 1,
    );
  });
});
