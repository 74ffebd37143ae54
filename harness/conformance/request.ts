/** One exchange with the run's target through the case's wire, and the grading of its bytes. */
import { comparePayloads } from '../results/evidence.js';
import { lossy, met, violated, type CaseOutcome } from './case.js';
import { confirmSizeLoss } from './loss.js';
import type { CaseContext } from './context.js';
import {
  exchange,
  exchangeEvidence,
  noReplyPhrase,
  type Exchange,
  type ExchangeLike,
  type ExchangeOptions,
} from './exchange.js';

/** Options of one request beyond the run's target, timing and attempts. */
export type RequestExtras = ExchangeOptions;

/** One exchange with the run's target (timeouts retried on the same socket with a fresh payload). */
export async function request(
  ctx: CaseContext,
  makePayload: (attempt: number) => Uint8Array,
  extras: RequestExtras = {},
  /** Longer waits than the run's, e.g. behind a backlog this case made. */
  timing: { readonly attempts: number; readonly timeoutMs: number } = ctx.timing,
): Promise<Exchange> {
  const r = await exchange(ctx.wire, makePayload, timing, extras);
  // A large request that was never answered: the path may lose its fragments (harness/conformance/loss.ts).
  return extras.to === undefined ? confirmSizeLoss(ctx, r, makePayload) : r;
}

/** Grades the bytes of an exchange: no reply, or any difference, violates; identical bytes meet. */
export function judgeBytes(ctx: CaseContext, r: ExchangeLike): CaseOutcome {
  const evidence = { exchange: exchangeEvidence(r) };
  if (!r.reply && r.pathLoss !== undefined)
    return lossy(`size-dependent loss on the path: ${r.pathLoss}`, evidence);
  if (!r.reply) return violated(noReplyPhrase(r, ctx.timing.timeoutMs), evidence, r.attempts);
  const cmp = comparePayloads(r.request.payload, r.reply.data);
  if (!cmp.equal) return violated(cmp.summary, evidence, r.attempts);
  return met(`${cmp.summary} in ${(Number(r.rttNs ?? 0n) / 1e6).toFixed(3)} ms`, evidence, r.attempts);
}
