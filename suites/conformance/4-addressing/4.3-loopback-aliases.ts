import { info, met, unsupported, violated } from '../../../harness/conformance/case.js';
import { isIP } from 'node:net';
import { isLoopback, normalizeAddress } from '../../../harness/core/address.js';
import { probeAddress } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 127/8 addresses other than 127.0.0.1 that every Linux host has on lo. */
const LOOPBACK_ALIASES = ['127.0.0.2', '127.1.2.3'];

/** 4.3: requests to 127/8 aliases are answered from those aliases. */
export const case4_3: ConformanceCase = {
  id: '4.3',
  title: 'requests to 127/8 aliases are answered from those aliases',
  klass: 'SHOULD',
  capability:
    'Linux, and a target on this host listening on a wildcard or 127/8 address; for a target elsewhere (a test host), further IPv4 addresses of it with --target-addrs stand in for the aliases',
  requirement:
    'Requests sent to 127.0.0.2 and 127.1.2.3 are answered from 127.0.0.2 and 127.1.2.3 (a wildcard-bound server that answers from 127.0.0.1 has the multi-homed-host bug).',
  source: 'RFC 1122 §4.1.3.5, RFC 2181 §4.1',
  provenBy: ['wildcard-bound', 'wildcard-bound-via-alias', 'dual-stack-wildcard'],
  run: async (ctx) => {
    const caps = ctx.capabilities;
    if (!caps.linux) return unsupported(`127/8 aliases are a Linux feature; this is ${caps.os}`);
    if (ctx.target.family !== 'IPv4') return unsupported('the target is IPv6; 127/8 aliases are IPv4');
    const target = normalizeAddress(ctx.target.address);
    let aliases = LOOPBACK_ALIASES.filter((a) => a !== target);
    let standIn: string | undefined;
    if (!isLoopback(target) && !caps.localAddresses.includes(target)) {
      // The target's 127/8 aliases are out of reach; its further IPv4 addresses are the same test.
      const further = ctx.options.targetAddrs.filter((a) => isIP(a) === 4 && normalizeAddress(a) !== target);
      if (further.length === 0) {
        return unsupported(
          `the target ${target} is not on this host, so its 127/8 aliases cannot be reached; give its further IPv4 addresses with --target-addrs to ask those instead`,
        );
      }
      aliases = further;
      standIn = `the target is not on this host, so its 127/8 aliases cannot be reached; its further IPv4 addresses (--target-addrs: ${further.join(', ')}) play their role: a server bound to the wildcard address answers them as it would answer 127.0.0.2`;
    }
    const probes = await Promise.all(aliases.map((address) => probeAddress(ctx, address)));
    const evidence = {
      ...(standIn ? { aliases: standIn } : {}),
      ...Object.fromEntries(probes.map((p) => [p.address, p.evidence])),
    };
    const attempts = Math.max(...probes.map((p) => p.attempts));
    const wrong = probes.filter((p) => p.from !== undefined && p.from !== p.address);
    const served = probes.filter((p) => p.from === p.address);
    const unserved = probes.filter((p) => p.from === undefined).map((p) => `${p.address} (${p.why})`);
    if (wrong.length > 0) {
      const list = wrong.map((p) => `sent to ${p.address}, answered from ${p.from}`).join('; ');
      const role = standIn ? ' (further addresses of the target, in place of 127/8 aliases)' : '';
      return violated(`reply from the wrong address${role}: ${list}`, evidence, attempts);
    }
    if (served.length === 0) {
      return info(
        `the server does not answer on ${unserved.join(' or ')}: nothing was misaddressed`,
        evidence,
      );
    }
    const damaged = served.find((p) => p.damage !== undefined);
    if (damaged) return violated(`reply via ${damaged.address}: ${damaged.damage}`, evidence, attempts);
    const note = unserved.length ? `; not served, nothing misaddressed: ${unserved.join(', ')}` : '';
    const role = standIn ? ' (further addresses of the target, in place of 127/8 aliases)' : '';
    return met(
      `answered from ${served.map((p) => p.address).join(' and ')}${role}${note}`,
      evidence,
      attempts,
    );
  },
};
