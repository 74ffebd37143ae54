import { exchangeEvidence, noReplyPhrase, type Exchange } from '../../../harness/conformance/exchange.js';
import { probeSourcePort, type SourcePortProbe } from '../../../harness/conformance/source-port.js';
import { sourceAddressFor } from '../../../harness/probes/source-port.js';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { unsupported, type CaseOutcome } from '../../../harness/conformance/case.js';
import { request } from '../../../harness/conformance/request.js';
import { formatEndpoint } from '../../../harness/core/address.js';

/** Shortest silence that counts as "no reply"; longer on slow paths (10 control round trips). */
export const MIN_SILENCE_MS = 400;

/** Socket buffers for bursts with large datagrams. */
export const BIG_BUFFER = 4 << 20;

/** A local address to send from, proven to be answered from an ephemeral port, and how long silence must last. */
export interface Setup {
  readonly address: string;
  readonly why: string;
  readonly control: Exchange;
  readonly windowMs: number;
  readonly evidence: Record<string, unknown>;
}

/**
 * Picks the source address and sends one control echo from it (ephemeral port, retried on
 * timeout): silence towards a low port proves nothing unless the server answers that address.
 */
export async function setUp(ctx: CaseContext): Promise<Setup | CaseOutcome> {
  const to = { address: ctx.target.address, port: ctx.target.port };
  const src = await sourceAddressFor(to, ctx.target.family, ctx.capabilities);
  if (src.kind === 'none') return unsupported(src.reason);
  let control: Exchange;
  try {
    control = await request(ctx, () => ctx.wire.text('control'), { bindAddress: src.address });
  } catch (err) {
    return unsupported(
      `cannot send from ${src.address}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const evidence = { sourceAddress: `${src.address} (${src.why})`, control: exchangeEvidence(control) };
  if (!control.reply) {
    return unsupported(
      `the server does not answer ${src.address} even from an ephemeral port (${noReplyPhrase(control, ctx.timing.timeoutMs)}), so silence towards a low port would prove nothing; BSD inetds drop every 127/8 source`,
      evidence,
    );
  }
  const rttMs = Number(control.rttNs ?? 0n) / 1e6;
  const windowMs = Math.min(ctx.timing.timeoutMs, Math.max(MIN_SILENCE_MS, Math.ceil(rttMs * 10)));
  return { address: src.address, why: src.why, control, windowMs, evidence: { ...evidence, windowMs } };
}

export const isSetup = (s: Setup | CaseOutcome): s is Setup => 'windowMs' in s;

/** Probes several source ports at once from the set-up address. */
export function probePorts(
  ctx: CaseContext,
  setup: Setup,
  ports: readonly number[],
  expect: 'silence' | 'any' = 'silence',
): Promise<SourcePortProbe[]> {
  const to = { address: ctx.target.address, port: ctx.target.port };
  return Promise.all(
    ports.map((port) =>
      probeSourcePort(
        ctx.wire,
        to,
        ctx.target.family,
        setup.address,
        port,
        ctx.wire.text(`from port ${port}`),
        setup.windowMs,
        expect,
      ),
    ),
  );
}

export const replyPhrase = (p: SourcePortProbe): string => {
  const r = p.replies[0];
  return r
    ? `${p.replies.length} repl${p.replies.length === 1 ? 'y' : 'ies'} from ${formatEndpoint(r.from.address, r.from.port)} (${r.data.length} bytes)`
    : 'no reply';
};
