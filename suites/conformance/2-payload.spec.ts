import fc from 'fast-check';
import { allByteValues, seededBytes } from '../../harness/probes/payloads.js';
import { exchangeEvidence, type ExchangeResult } from '../../harness/probes/exchange.js';
import { comparePayloads } from '../../harness/results/evidence.js';
import { SIZE_LADDER, maxPayload } from '../../harness/protocol/constants.js';
import type { ActiveRun } from '../../harness/runner/active-run.js';
import { checkProperty, propertyEvidence } from '../support/property.js';
import { conformanceCase, met, violated, type CaseOutcome } from '../support/case.js';
import { judgeBytes, request } from '../support/request.js';

/** Bytes from spaced hex, so byte fixtures read as bytes. */
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** Printable bytes. */
const text = (s: string): Buffer => Buffer.from(s, 'latin1');

/**
 * Sends each named payload in turn (sequentially: these cases test bytes, not concurrency) and
 * violates at the first one that does not come back byte for byte.
 */
async function echoVariants(
  run: ActiveRun,
  variants: readonly (readonly [string, Buffer])[],
  what: (name: string) => string,
  allMet: string,
): Promise<CaseOutcome> {
  const exchanges: Record<string, unknown> = {};
  let attempts = 1;
  for (const [name, payload] of variants) {
    const r = await request(run, () => payload);
    attempts = Math.max(attempts, r.attempts);
    const outcome = judgeBytes(run, r);
    exchanges[name] = exchangeEvidence(r);
    if (outcome.status !== 'met') return violated(`${what(name)}: ${outcome.message}`, exchanges, attempts);
  }
  return met(allMet, exchanges, attempts);
}

/** Invalid UTF-8 between printable text, so a decoder that resynchronises still has to get every byte right. */
const INVALID_UTF8: readonly (readonly [string, Buffer])[] = [
  ['ff fe (bytes never valid in UTF-8)', Buffer.concat([text('echolot 2.3 '), hex('ff fe'), text(' end')])],
  ['lone continuation bytes 80 bf', Buffer.concat([text('echolot 2.3 '), hex('80 bf 80'), text(' end')])],
  ['overlong "/" c0 af', Buffer.concat([text('echolot 2.3 '), hex('c0 af'), text(' end')])],
  ['overlong "/" e0 80 af', Buffer.concat([text('echolot 2.3 '), hex('e0 80 af'), text(' end')])],
  ['overlong "/" f0 80 80 af', Buffer.concat([text('echolot 2.3 '), hex('f0 80 80 af'), text(' end')])],
  ['surrogate U+D800 ed a0 80', Buffer.concat([text('echolot 2.3 '), hex('ed a0 80'), text(' end')])],
  [
    'surrogate pair ed a0 bd ed b8 80 (CESU-8)',
    Buffer.concat([text('echolot 2.3 '), hex('eda0bd edb880'), text(' end')]),
  ],
  ['above U+10FFFF f4 90 80 80', Buffer.concat([text('echolot 2.3 '), hex('f4 90 80 80'), text(' end')])],
  ['truncated sequence e2 82 at the end', Buffer.concat([text('echolot 2.3 '), hex('e2 82')])],
  ['only invalid bytes', hex('ff fe fd c0 80 bf')],
];

/** Line endings and whitespace that line-oriented servers rewrite. */
const LINE_ENDINGS: readonly (readonly [string, Buffer])[] = [
  ['CR at the end', text('echolot 2.4 CR\r')],
  ['LF at the end', text('echolot 2.4 LF\n')],
  ['CRLF line endings', text('echolot\r\n2.4 CRLF\r\n')],
  ['LF CR', text('echolot\n\r2.4 LF CR')],
  ['bare CR inside', text('echolot\r2.4 bare CR')],
  ['trailing spaces', text('echolot 2.4 trailing spaces   ')],
  ['trailing tab and spaces', text('echolot 2.4 trailing tab\t \t ')],
  ['leading spaces', text('   echolot 2.4 leading spaces')],
  ['no trailing newline', text('echolot 2.4 no trailing newline')],
  ['blank lines only', text('\n\n\r\n\r\n')],
  ['a lone CRLF', text('\r\n')],
];

/** How long after a reply a second one still counts (short: the property runs many times; 5.1 waits longer). */
const AMPLIFICATION_GRACE_MS = 50;

describe('2 Payload transparency', () => {
  conformanceCase('2.1', async (run) => judgeBytes(run, await request(run, () => allByteValues())));

  conformanceCase('2.2', async (run) => {
    const variants: [string, Buffer][] = [
      ['start', Buffer.from('00656368 6f6c6f74 2032 2e32'.replace(/ /g, ''), 'hex')],
      ['middle', Buffer.from('6563686f 00 6c6f74 2032 2e32'.replace(/ /g, ''), 'hex')],
      ['end', Buffer.from('6563686f 6c6f74 2032 2e32 00'.replace(/ /g, ''), 'hex')],
    ];
    return echoVariants(
      run,
      variants,
      (where) => `NUL at the ${where}`,
      'NUL at the start, middle and end came back unchanged',
    );
  });

  conformanceCase('2.3', (run) =>
    echoVariants(
      run,
      INVALID_UTF8,
      (name) => `invalid UTF-8, ${name}`,
      `${INVALID_UTF8.length} datagrams of invalid UTF-8 (ff fe, lone continuation bytes, overlong forms, surrogates) came back unchanged`,
    ),
  );

  conformanceCase('2.4', (run) =>
    echoVariants(
      run,
      LINE_ENDINGS,
      (name) => `${name}`,
      `${LINE_ENDINGS.length} datagrams with CR, LF, CRLF, trailing and leading spaces and no final newline came back unchanged`,
    ),
  );

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
    // The extremes are always tried first, so every run covers them whatever the seed.
    const details = await checkProperty(run, property, {
      numRuns: run.options.numRuns,
      examples: [
        [0, 1],
        [1, 2],
        [max, 3],
      ],
      timeLimitMs: 45_000,
    });
    const evidence = {
      ...propertyEvidence(run, '2.5', details),
      exchanges,
      maxSize: max,
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

  conformanceCase('2.6', async (run) => {
    const max = maxPayload(run.target.family);
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
    let failure: ExchangeResult | undefined;
    const property = fc.asyncProperty(sizeArb, fc.integer(), async (size, seed) => {
      const r = await request(run, () => seededBytes(size, seed), {
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
      const ok = replies.length === 1 && r.reply.data.length <= r.request.payload.length;
      if (!ok) failure = r;
      return ok;
    });
    const details = await checkProperty(run, property, {
      // Each run waits a grace window for a second reply, so this property runs an eighth as often as 2.5.
      numRuns: Math.max(1, Math.ceil(run.options.numRuns / 8)),
      examples: [
        [0, 1],
        [1, 2],
        [63, 3],
        [max, 4],
      ],
      timeLimitMs: 20_000,
    });
    const evidence = {
      ...propertyEvidence(run, '2.6', details),
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
  });
});
