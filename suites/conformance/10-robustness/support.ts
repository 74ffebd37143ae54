import { flood, type FloodOptions, type FloodResult } from '../../../harness/conformance/flood.js';
import { exchangeEvidence, type Exchange } from '../../../harness/conformance/exchange.js';
import { comparePayloads } from '../../../harness/results/evidence.js';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { met, violated, type CaseOutcome } from '../../../harness/conformance/case.js';
import { judgeBytes, request } from '../../../harness/conformance/request.js';

/** Time for the last replies and the ICMP errors they draw to land before the liveness echo. */
export const SETTLE_MS = 200;

/** Client socket buffers for floods of large datagrams. */
export const BIG_BUFFER = 4 << 20;

export const floodAt = (ctx: CaseContext, o: Omit<FloodOptions, 'to' | 'family'>): Promise<FloodResult> =>
  flood(
    ctx.wire,
    { to: { address: ctx.target.address, port: ctx.target.port }, family: ctx.target.family, ...o },
    ctx.timing,
  );

export const floodPhrase = (what: string, r: FloodResult): string =>
  `${r.sent} ${what} in ${Math.round(r.sendMs)} ms (${r.replies} replies)`;

/**
 * The liveness echo after `what`, graded against the baseline echo taken before it: no reply is a
 * dead server; damage that the baseline already showed belongs to sections 1-3, not to liveness.
 */
export async function echoAfter(
  ctx: CaseContext,
  what: string,
  baseline: Exchange,
  evidence: Record<string, unknown>,
  /** Datagrams the case left unanswered: a target that serves one at a time still works through them. */
  backlog = 0,
): Promise<CaseOutcome> {
  const timing = {
    attempts: ctx.timing.attempts,
    timeoutMs: ctx.timing.timeoutMs + ctx.timing.backlogMs(backlog),
  };
  const r = await request(ctx, () => ctx.wire.text('liveness'), {}, timing);
  const o = judgeBytes(ctx, r);
  const all = { ...evidence, baseline: exchangeEvidence(baseline), echo: exchangeEvidence(r) };
  const message = `after ${what}, a single echo: ${o.message}`;
  if (!r.reply || o.status === 'met') return { ...o, message, evidence: all };
  const before = baseline.reply && comparePayloads(baseline.request.payload, baseline.reply.data);
  if (before && !before.equal) {
    return met(
      `${message} (damaged before too: ${before.summary}; sections 1-3 judge the bytes)`,
      all,
      r.attempts,
    );
  }
  return violated(`${message}, though the echo before was intact`, all, r.attempts);
}
