import { exchangeEvidence } from '../../../harness/conformance/exchange.js';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { met, violated, type CaseOutcome } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';

/** Bytes from spaced hex, so byte fixtures read as bytes. */
export const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** Printable bytes. */
export const text = (s: string): Buffer => Buffer.from(s, 'latin1');

/**
 * Sends each named payload in turn (sequentially: these cases test bytes, not concurrency) and
 * violates at the first one that does not come back byte for byte.
 */
export async function echoVariants(
  ctx: CaseContext,
  variants: readonly (readonly [string, Buffer])[],
  what: (name: string) => string,
  allMet: string,
): Promise<CaseOutcome> {
  const exchanges: Record<string, unknown> = {};
  let attempts = 1;
  for (const [name, payload] of variants) {
    const r = await request(ctx, () => payload);
    attempts = Math.max(attempts, r.attempts);
    const outcome = judgeBytes(ctx, r);
    exchanges[name] = exchangeEvidence(r);
    if (outcome.status !== 'met') return violated(`${what(name)}: ${outcome.message}`, exchanges, attempts);
  }
  return met(allMet, exchanges, attempts);
}
