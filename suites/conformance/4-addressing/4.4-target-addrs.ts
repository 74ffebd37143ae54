import { met, unsupported, violated } from '../../../harness/conformance/case.js';
import { normalizeAddress } from '../../../harness/core/address.js';
import { probeAddress } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';
import type { CaseContext } from '../../../harness/conformance/context.js';

/** The addresses case 4.4 checks: --target-addrs, or for the embedded default every other address it binds. */
function furtherAddresses(ctx: CaseContext): { addresses: readonly string[]; origin: string } | undefined {
  if (ctx.options.targetAddrs.length > 0) {
    return { addresses: ctx.options.targetAddrs, origin: '--target-addrs' };
  }
  if (!ctx.server) return undefined;
  const target = normalizeAddress(ctx.target.address);
  return {
    addresses: ctx.server.addresses.filter((a) => normalizeAddress(a) !== target),
    origin: 'the addresses the embedded reference server binds',
  };
}

/** 4.4: every address given with --target-addrs answers from that address. */
export const case4_4: ConformanceCase = {
  id: '4.4',
  title: 'every address given with --target-addrs answers from that address',
  klass: 'SHOULD',
  capability: '--target-addrs (for the embedded default: the addresses it binds)',
  requirement:
    'A request sent to each further address of the server (secondary IPs, other interfaces) is answered from that same address.',
  source: 'RFC 1122 §4.1.3.5, RFC 2181 §4.1',
  provenBy: ['wildcard-on-two-addresses'],
  run: async (ctx) => {
    const further = furtherAddresses(ctx);
    if (!further) {
      return unsupported(
        'give --target-addrs ADDR,... (the further addresses of the same server: secondary IPs, other interfaces) to check them',
      );
    }
    if (further.addresses.length === 0)
      return unsupported(`${further.origin}: no address besides the target`);
    const probes = await Promise.all(further.addresses.map((a) => probeAddress(ctx, a)));
    const evidence = {
      origin: further.origin,
      ...Object.fromEntries(probes.map((p) => [p.address, p.evidence])),
    };
    const attempts = Math.max(...probes.map((p) => p.attempts));
    const wrong = probes.filter((p) => p.from !== undefined && p.from !== normalizeAddress(p.address));
    if (wrong.length > 0) {
      const list = wrong.map((p) => `sent to ${p.address}, answered from ${p.from}`).join('; ');
      return violated(`reply from the wrong address: ${list}`, evidence, attempts);
    }
    // The caller named these as the server's addresses, so one that answers nothing is a finding too.
    const unserved = probes.filter((p) => p.from === undefined);
    if (unserved.length > 0) {
      const list = unserved.map((p) => `${p.address} (${p.why})`).join(', ');
      return violated(`no reply on ${list}`, evidence, attempts);
    }
    const damaged = probes.find((p) => p.damage !== undefined);
    if (damaged) return violated(`reply via ${damaged.address}: ${damaged.damage}`, evidence, attempts);
    return met(
      `each of ${probes.map((p) => p.address).join(', ')} (${further.origin}) answered from itself`,
      evidence,
      attempts,
    );
  },
};
