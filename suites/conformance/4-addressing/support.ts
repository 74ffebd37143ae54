import { isIP } from 'node:net';
import { dualExchange } from '../../../harness/conformance/exchange.js';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { comparePayloads } from '../../../harness/results/evidence.js';
import { formatEndpoint, normalizeAddress } from '../../../harness/core/address.js';

/** What sending to one address of the server showed: the reply's source address, or why there was none. */
export interface AddressProbe {
  readonly address: string;
  readonly from?: string;
  readonly why?: string;
  readonly damage?: string;
  readonly attempts: number;
  readonly evidence: Record<string, unknown>;
}

/** Sends to one address from a connected and an unconnected socket; ICMP port-unreachable answers "not served" at once. */
export async function probeAddress(ctx: CaseContext, address: string): Promise<AddressProbe> {
  const to = { address, port: ctx.target.port };
  const family = isIP(address.split('%')[0] ?? '') === 6 ? 'IPv6' : 'IPv4';
  for (let attempt = 1; ; attempt++) {
    const payload = ctx.wire.text(address);
    const o = await dualExchange(ctx.wire, to, family, payload, ctx.timing.timeoutMs);
    const base = { to: formatEndpoint(address, to.port), sentLength: payload.length, attempts: attempt };
    if (o.kind === 'reply') {
      if (attempt > 1) ctx.wire.retryAnswered();
      const from = normalizeAddress(o.reply.from.address);
      const cmp = comparePayloads(payload, o.reply.data);
      return {
        address,
        from,
        attempts: attempt,
        ...(cmp.equal ? {} : { damage: cmp.summary }),
        evidence: {
          ...base,
          replyFrom: formatEndpoint(from, o.reply.from.port),
          local: formatEndpoint(o.local.address, o.local.port),
          seenBy: `${o.via} socket`,
          comparison: cmp,
        },
      };
    }
    if (o.kind === 'fault') {
      const why = o.fault.errno === 'ECONNREFUSED' ? 'ICMP port unreachable' : o.fault.errno;
      return { address, why, attempts: attempt, evidence: { ...base, fault: why } };
    }
    if (attempt >= ctx.timing.attempts) {
      const why = `no reply within ${ctx.timing.timeoutMs} ms after ${attempt} attempts`;
      return { address, why, attempts: attempt, evidence: { ...base, timedOut: true } };
    }
  }
}
