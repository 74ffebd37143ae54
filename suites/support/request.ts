import type { ActiveRun } from '../../harness/runner/active-run.js';
import {
  exchangeEvidence,
  exchangeWithRetry,
  noReplyPhrase,
  type ExchangeRequest,
  type ExchangeResult,
} from '../../harness/probes/exchange.js';
import { comparePayloads } from '../../harness/results/evidence.js';
import { met, violated, type CaseOutcome } from './case.js';

/** Options of one request beyond the run's target, timeout and retries. */
export type RequestExtras = Partial<Omit<ExchangeRequest, 'payload' | 'family' | 'timeoutMs'>>;

/** One exchange with the run's target (timeouts retried with a fresh socket and a fresh payload). */
export function request(
  run: ActiveRun,
  makePayload: (attempt: number) => Uint8Array,
  extras: RequestExtras = {},
): Promise<ExchangeResult> {
  return exchangeWithRetry(
    {
      to: { address: run.target.address, port: run.target.port },
      family: run.target.family,
      timeoutMs: run.options.timeoutMs,
      ...extras,
    },
    makePayload,
    run.options.retries,
  );
}

/** Grades the bytes of an exchange: no reply, or any difference, violates; identical bytes meet. */
export function judgeBytes(run: ActiveRun, r: ExchangeResult): CaseOutcome {
  const evidence = { exchange: exchangeEvidence(r) };
  if (!r.reply) return violated(noReplyPhrase(r, run.options.timeoutMs), evidence, r.attempts);
  const cmp = comparePayloads(r.request.payload, r.reply.data);
  if (!cmp.equal) return violated(cmp.summary, evidence, r.attempts);
  return met(`${cmp.summary} in ${(Number(r.rttNs ?? 0n) / 1e6).toFixed(3)} ms`, evidence, r.attempts);
}
