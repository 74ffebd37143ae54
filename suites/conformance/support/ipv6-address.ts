import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { formatEndpoint, isLoopback } from '../../../harness/core/address.js';

/** Where the run's server can be reached over IPv6, or why that is not known. */
export type Ipv6Address =
  | {
      readonly kind: 'known';
      readonly address: string;
      /** True when the address is the target itself; false when derived from an IPv4 target (must be confirmed). */
      readonly isTarget: boolean;
      /** How the address was found, for the evidence. */
      readonly how: string;
      /**
       * A further address of the target given with --target-addrs: the same server, which may answer
       * it from another of its addresses (a finding of 4.4 and 8.x, not of a size check).
       */
      readonly further?: boolean;
    }
  | { readonly kind: 'unknown'; readonly reason: string };

const AAAA_TIMEOUT_MS = 3000;

const isLinkLocal = (address: string): boolean => /^fe[89ab][0-9a-f]:/i.test(address);

/** The first global (not link-local) IPv6 address among --target-addrs, if any. */
export function furtherIpv6(ctx: CaseContext): string | undefined {
  return ctx.options.targetAddrs.find((a) => isIP(a) === 6 && !isLinkLocal(a));
}

/** The first scoped link-local IPv6 address (fe80::1%IFACE) among --target-addrs, if any. */
export function furtherLinkLocal(ctx: CaseContext): string | undefined {
  return ctx.options.targetAddrs.find((a) => isLinkLocal(a) && a.includes('%'));
}

/**
 * The IPv6 address of the server under test: the target when it is IPv6; ::1 for the embedded
 * default (which binds ::1) or a target on 127/8 or localhost; a global IPv6 address given with
 * --target-addrs; the AAAA of a host name target.
 */
export async function ipv6AddressOf(ctx: CaseContext): Promise<Ipv6Address> {
  const { target, capabilities } = ctx;
  if (target.family === 'IPv6')
    return { kind: 'known', address: target.address, isTarget: true, how: 'the target' };
  const hint = `check [v6]:${target.port}`;
  const local =
    ctx.target.embedded || isLoopback(target.address) || target.host.toLowerCase() === 'localhost';
  if (local) {
    if (!capabilities.ipv6Loopback) {
      return { kind: 'unknown', reason: `the target is on loopback but this host has no ::1; ${hint}` };
    }
    return {
      kind: 'known',
      address: '::1',
      isTarget: ctx.target.embedded,
      how: ctx.target.embedded
        ? 'the embedded reference server binds ::1'
        : `${target.address} is loopback, so ::1`,
    };
  }
  const given = furtherIpv6(ctx);
  if (given !== undefined) {
    return {
      kind: 'known',
      address: given,
      isTarget: false,
      how: `${given} is a further address of the target (--target-addrs)`,
      further: true,
    };
  }
  if (isIP(target.host.split('%')[0] ?? '') === 0) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const found = await Promise.race([
        lookup(target.host, { family: 6 }),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), AAAA_TIMEOUT_MS);
        }),
      ]);
      if (found) {
        return {
          kind: 'known',
          address: found.address,
          isTarget: false,
          how: `AAAA of ${target.host}: ${formatEndpoint(found.address, target.port)}`,
        };
      }
    } catch {
      // No AAAA record: the reason below says what to do instead.
    } finally {
      clearTimeout(timer);
    }
    return { kind: 'unknown', reason: `${target.host} has no IPv6 address (AAAA); ${hint}` };
  }
  return {
    kind: 'unknown',
    reason: `target has no known IPv6 address; ${hint} or give its IPv6 address with --target-addrs`,
  };
}
