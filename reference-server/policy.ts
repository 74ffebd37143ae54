import ipaddr from 'ipaddr.js';
import { createFairShare, shareGroup } from './fair-share.js';
import type { DropReason, SocketFamily } from './server-stats.js';

/** The verdict that answers a datagram; anything else is the reason it is dropped. */
export const ACCEPT = 'accept';

/** What the policy says about one datagram. */
export type Verdict =
  typeof ACCEPT | Exclude<DropReason, 'own-port' | 'destination' | 'echo-loop' | 'queue-full'>;

/**
 * Access control and abuse limits of the reference server, under the names of ServeOptions (the
 * server passes its resolved options as they are, so a field renamed on one side fails to compile).
 */
export interface PolicyOptions {
  /** Refused source ports, as a 65536-entry table (1 = refuse). */
  readonly refused: Uint8Array;
  /** Only sources in these CIDR ranges are answered (empty = every source). */
  readonly allow: readonly string[];
  /** Sources in these CIDR ranges are never answered; deny wins over allow. */
  readonly deny: readonly string[];
  /** Datagrams per second answered per source address (0 = no limit). */
  readonly rateLimit: number;
  /** Token-bucket depth per source: datagrams answered in one burst before the rate applies. */
  readonly rateBurst: number;
  /**
   * Datagrams per second answered across all sources (0 = no limit); the burst equals the rate. Shared
   * fairly between source networks (see fair-share.ts), not first come first served.
   */
  readonly globalRateLimit: number;
  /** Most source addresses tracked at once; the least recently seen is forgotten first. */
  readonly maxSources: number;
}

/** A per-datagram decision function plus what the metrics want to know about its state. */
export interface Policy {
  /** Accept or the drop reason for a datagram from `address`:`port` received on a `family` socket at `nowMs`. */
  decide(address: string, port: number, family: SocketFamily, nowMs: number): Verdict;
  /** Source addresses currently tracked. */
  trackedSources(): number;
  /** Sources forgotten to keep the table within maxSources. */
  evictedSources(): number;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

interface Source {
  /** Cached access-control verdict: addresses do not change their ranges. */
  readonly acl: Verdict;
  /** The source network that shares one fair share of the global limit ('' without a global limit). */
  readonly group: string;
  tokens: number;
  lastMs: number;
}

/**
 * Parses one --allow/--deny entry; a bare address means a single host. Throws with a one-line reason.
 * A range with host bits set (127.0.0.1/8) is refused, as `ip route` refuses it, instead of being widened
 * in silence. A v4-mapped range (::ffff:127.0.0.0/104, ::ffff:127.0.0.2) becomes the IPv4 range it means
 * (127.0.0.0/8, 127.0.0.2/32): sources are matched as IPv4 when they are v4-mapped, so the IPv6 form of
 * the range would never match anything.
 */
export function parseRange(text: string): Range {
  const trimmed = text.trim();
  let range: Range;
  if (ipaddr.isValidCIDR(trimmed)) {
    range = ipaddr.parseCIDR(trimmed);
  } else if (ipaddr.isValid(trimmed)) {
    const addr = ipaddr.parse(trimmed);
    range = [addr, addr.kind() === 'ipv4' ? 32 : 128];
  } else {
    throw new Error('must be an IPv4 or IPv6 address or CIDR range, e.g. 192.0.2.0/24 or 2001:db8::/32');
  }
  const [addr, bits] = range;
  const bytes = addr.toByteArray();
  const network = bytes.map((b, i) => b & (0xff00 >> Math.max(0, Math.min(8, bits - 8 * i))) & 0xff);
  if (network.some((b, i) => b !== bytes[i])) {
    throw new Error(`has host bits set; did you mean ${showAddress(ipaddr.fromByteArray(network))}/${bits}?`);
  }
  // A v4-mapped range has at least 96 bits (the ::ffff: prefix itself), or its host bits were set above.
  if (addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress() && bits >= 96) {
    return [addr.toIPv4Address(), bits - 96];
  }
  return range;
}

/** An address as the user would write it: v4-mapped IPv6 with its IPv4 part dotted. */
function showAddress(addr: ipaddr.IPv4 | ipaddr.IPv6): string {
  return addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress()
    ? `::ffff:${addr.toIPv4Address().toString()}`
    : addr.toString();
}

/** A policy that only refuses loop ports: the default when no access control or limit is configured. */
export function createPolicy(options: PolicyOptions): Policy {
  const { refused, rateLimit, globalRateLimit, maxSources } = options;
  const allow = options.allow.map(parseRange);
  const deny = options.deny.map(parseRange);
  const acl = allow.length > 0 || deny.length > 0;
  const perSourceMs = rateLimit / 1000;
  const burst = Math.max(1, options.rateBurst);
  const fair = globalRateLimit > 0 ? createFairShare(globalRateLimit, maxSources) : undefined;
  const sources = new Map<string, Source>();
  let evicted = 0;

  const classify = (address: string): Verdict => {
    if (!acl) return ACCEPT;
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      // Scope ids say which link, not which host; v4-mapped sources (dual-stack sockets) match IPv4 ranges.
      addr = ipaddr.process(address.split('%')[0] ?? address);
    } catch {
      return 'denied';
    }
    if (deny.some((r) => matches(addr, r))) return 'denied';
    if (allow.length > 0 && !allow.some((r) => matches(addr, r))) return 'not-allowed';
    return ACCEPT;
  };

  const refill = (tokens: number, lastMs: number, nowMs: number, perMs: number, cap: number): number =>
    nowMs <= lastMs ? tokens : Math.min(cap, tokens + (nowMs - lastMs) * perMs);

  return {
    decide(address, port, _family, nowMs) {
      if (refused[port] === 1) return 'loop-port';
      if (!acl && rateLimit === 0 && globalRateLimit === 0) return ACCEPT;
      let source: Source | undefined;
      if (acl || rateLimit > 0 || fair !== undefined) {
        source = sources.get(address);
        if (source === undefined) {
          const verdict = classify(address);
          const group = fair === undefined || verdict !== ACCEPT ? '' : shareGroup(address);
          source = { acl: verdict, group, tokens: burst, lastMs: nowMs };
          if (sources.size >= maxSources) {
            // Map iteration order is insertion order and every hit re-inserts: the first key is the least recent.
            const oldest = sources.keys().next();
            if (oldest.done !== true) sources.delete(oldest.value);
            evicted++;
          }
        } else {
          sources.delete(address);
        }
        sources.set(address, source);
        if (source.acl !== ACCEPT) return source.acl;
      }
      // Check both buckets before taking from either, so a throttled source does not spend global tokens.
      let sourceTokens = 0;
      if (source !== undefined && rateLimit > 0) {
        sourceTokens = refill(source.tokens, source.lastMs, nowMs, perSourceMs, burst);
        source.tokens = sourceTokens;
        source.lastMs = Math.max(source.lastMs, nowMs);
        if (sourceTokens < 1) return 'rate-source';
      }
      if (fair !== undefined && source !== undefined) {
        // Fair between source networks, not first come first served (fair-share.ts).
        if (!fair.admit(source.group, nowMs)) return 'rate-global';
      }
      if (source !== undefined && rateLimit > 0) source.tokens = sourceTokens - 1;
      return ACCEPT;
    },
    trackedSources: () => sources.size,
    evictedSources: () => evicted,
  };
}

function matches(addr: ipaddr.IPv4 | ipaddr.IPv6, range: Range): boolean {
  return addr.kind() === range[0].kind() && addr.match(range);
}
