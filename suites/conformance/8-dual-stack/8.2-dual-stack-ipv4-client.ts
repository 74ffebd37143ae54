import { dualExchange } from '../../../harness/conformance/exchange.js';
import { met, unsupported, violated } from '../../../harness/conformance/case.js';
import { formatEndpoint, isLoopback, normalizeAddress } from '../../../harness/core/address.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { comparePayloads } from '../../../harness/results/evidence.js';
import { isIP } from 'node:net';
import { furtherIpv6 } from '../support/ipv6-address.js';

/** 127/8 aliases every Linux host has on lo (case 8.2 also asks through them). */
const LOOPBACK_ALIASES = ['127.0.0.2', '127.1.2.3'];

async function probeV4(ctx: CaseContext, address: string): Promise<V4Probe> {
  const to = { address, port: ctx.target.port };
  for (let attempt = 1; ; attempt++) {
    const payload = ctx.wire.text(address);
    const o = await dualExchange(ctx.wire, to, 'IPv4', payload, ctx.timing.timeoutMs);
    const base = { to: formatEndpoint(address, to.port), attempts: attempt };
    if (o.kind === 'reply') {
      if (attempt > 1) ctx.wire.retryAnswered();
      const raw = o.reply.from.address;
      return {
        address,
        from: normalizeAddress(raw),
        rawFrom: raw,
        family: o.reply.from.family,
        attempts: attempt,
        evidence: {
          ...base,
          replyFrom: formatEndpoint(raw, o.reply.from.port),
          replyFamily: o.reply.from.family,
          local: formatEndpoint(o.local.address, o.local.port),
          seenBy: `${o.via} socket`,
          comparison: comparePayloads(payload, o.reply.data),
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

/** The reply of one IPv4 request to a dual-stack server: its source as the client saw it. */
interface V4Probe {
  readonly address: string;
  readonly from?: string;
  readonly rawFrom?: string;
  readonly family?: string;
  readonly why?: string;
  readonly attempts: number;
  readonly evidence: Record<string, unknown>;
}

/** 8.2: an IPv4 client of a dual-stack server is answered from the IPv4 address it used. */
export const case8_2: ConformanceCase = {
  id: '8.2',
  title: 'an IPv4 client of a dual-stack server is answered from the IPv4 address it used',
  klass: 'SHOULD',
  capability:
    'an IPv4 target on this host that also answers over IPv6 (a dual-stack server), or one elsewhere whose IPv6 address is given with --target-addrs',
  requirement:
    'Requests over IPv4 to a dual-stack server (one listening on :: or on both families) are answered over IPv4 from the address they were sent to (127/8 aliases too), never from another address.',
  source: 'RFC 4291 §2.5.5.2, RFC 3493 §3.7, RFC 1122 §4.1.3.5',
  provenBy: ['dual-stack-wildcard'],
  run: async (ctx) => {
    const caps = ctx.capabilities;
    if (ctx.target.family !== 'IPv4')
      return unsupported('the target is IPv6; this case is about IPv4 clients');
    const target = normalizeAddress(ctx.target.address);
    const local = isLoopback(target) || caps.localAddresses.includes(target);
    // A target elsewhere (a test host) is dual-stack when its IPv6 address (--target-addrs) answers too.
    const given = local ? undefined : furtherIpv6(ctx);
    if (!local && given === undefined) {
      return unsupported(
        `the target ${target} is not on this host, so whether it is dual-stack cannot be seen; give its IPv6 address with --target-addrs`,
      );
    }
    if (given === undefined && !caps.ipv6Loopback)
      return unsupported('this host has no ::1, so no server on it is dual-stack');
    const v6 = { address: given ?? '::1', port: ctx.target.port };
    const v6At = formatEndpoint(v6.address, v6.port);
    let seen = await dualExchange(ctx.wire, v6, 'IPv6', ctx.wire.text(v6.address), ctx.timing.timeoutMs);
    for (let attempt = 2; seen.kind === 'timeout' && attempt <= ctx.timing.attempts; attempt++) {
      seen = await dualExchange(ctx.wire, v6, 'IPv6', ctx.wire.text(v6.address), ctx.timing.timeoutMs);
    }
    if (seen.kind !== 'reply') {
      const why = seen.kind === 'fault' ? seen.fault.errno : 'no reply';
      return unsupported(`not a dual-stack server: no answer over IPv6 at ${v6At} (${why})`);
    }
    const viaAliases = caps.linux && caps.loopbackAliases && isLoopback(target);
    const further = local
      ? []
      : ctx.options.targetAddrs.filter((a) => isIP(a) === 4 && normalizeAddress(a) !== target);
    const addresses = [
      target,
      ...(viaAliases ? LOOPBACK_ALIASES.filter((a) => a !== target) : []),
      ...further,
    ];
    const probes = await Promise.all(addresses.map((a) => probeV4(ctx, a)));
    const evidence = {
      ipv6Answer: formatEndpoint(seen.reply.from.address, seen.reply.from.port),
      ...Object.fromEntries(probes.map((p) => [p.address, p.evidence])),
    };
    const attempts = Math.max(...probes.map((p) => p.attempts));
    const wrong = probes.filter((p) => p.from !== undefined && (p.from !== p.address || p.family !== 'IPv4'));
    if (wrong.length > 0) {
      const list = wrong
        .map((p) => `sent to ${p.address}, answered from ${p.rawFrom} (${p.family})`)
        .join('; ');
      return violated(`reply from the wrong address: ${list}`, evidence, attempts);
    }
    const served = probes.filter((p) => p.from !== undefined).map((p) => p.address);
    if (!served.includes(target)) {
      return violated(
        `no reply over IPv4 at ${target} (${probes[0]?.why ?? 'no reply'})`,
        evidence,
        attempts,
      );
    }
    const unserved = probes.filter((p) => p.from === undefined).map((p) => `${p.address} (${p.why})`);
    const note = unserved.length ? `; not served, nothing misaddressed: ${unserved.join(', ')}` : '';
    return met(
      `a dual-stack server (it answers on ${v6.address} too) answered IPv4 requests over IPv4 from ${served.join(' and ')}${note}`,
      evidence,
      attempts,
    );
  },
};
