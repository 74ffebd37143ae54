import ipaddr from 'ipaddr.js';
import type { DropReason, SocketFamily } from './server-stats.js';

/** The verdict that answers a datagram; anything else is the reason it is dropped. */
export const ACCEPT = 'accept';

/** What the policy says about one datagram. */
export type Verdict = typeof ACCEPT | Exclude<DropReason, 'own-port' | 'destination' | 'queue-full'>;

/** Access control and abuse limits of the reference server, all optional. */
export interface PolicyOptions {
  /** Refused source ports, as a 65536-entry table (1 = refuse). */
  readonly refused: Uint8Array;
  /** Only sources in these CIDR ranges are answered (empty = every source). */
  readonly allow: readonly string[];
  /** Sources in these CIDR ranges are never answered; deny wins over allow. */
  readonly deny: readonly string[];
  /** Datagrams per second answered per source address (0 = no limit). */
  readonly ratePerSource: number;
  /** Token-bucket depth per source: datagrams answered in one burst before the rate applies. */
  readonly burstPerSource: number;
  /** Datagrams per second answered across all sources (0 = no limit); the burst equals the rate. */
  readonly rateGlobal: number;
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
  tokens: number;
  lastMs: number;
}

/** Parses one --allow/--deny entry; a bare address means a single host. Throws with a one-line reason. */
export function parseRange(text: string): Range {
  const trimmed = text.trim();
  if (ipaddr.isValidCIDR(trimmed)) return ipaddr.parseCIDR(trimmed);
  if (ipaddr.isValid(trimmed)) {
    const addr = ipaddr.parse(trimmed);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  }
  throw new Error('must be an IPv4 or IPv6 address or CIDR range, e.g. 192.0.2.0/24 or 2001:db8::/32');
}

/** A policy that only refuses loop ports: the default when no access control or limit is configured. */
export function createPolicy(options: PolicyOptions): Policy {
  const { refused, ratePerSource, rateGlobal, maxSources } = options;
  const allow = options.allow.map(parseRange);
  const deny = options.deny.map(parseRange);
  const acl = allow.length > 0 || deny.length > 0;
  const perSourceMs = ratePerSource / 1000;
  const burst = Math.max(1, options.burstPerSource);
  const globalMs = rateGlobal / 1000;
  const globalBurst = Math.max(1, rateGlobal);
  let globalTokens = globalBurst;
  let globalLastMs = Number.NEGATIVE_INFINITY;
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
      if (!acl && ratePerSource === 0 && rateGlobal === 0) return ACCEPT;
      let source: Source | undefined;
      if (acl || ratePerSource > 0) {
        source = sources.get(address);
        if (source === undefined) {
          source = { acl: classify(address), tokens: burst, lastMs: nowMs };
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
      if (source !== undefined && ratePerSource > 0) {
        sourceTokens = refill(source.tokens, source.lastMs, nowMs, perSourceMs, burst);
        source.tokens = sourceTokens;
        source.lastMs = Math.max(source.lastMs, nowMs);
        if (sourceTokens < 1) return 'rate-source';
      }
      if (rateGlobal > 0) {
        globalTokens = refill(globalTokens, globalLastMs, nowMs, globalMs, globalBurst);
        globalLastMs = Math.max(globalLastMs, nowMs);
        if (globalTokens < 1) return 'rate-global';
        globalTokens -= 1;
      }
      if (source !== undefined && ratePerSource > 0) source.tokens = sourceTokens - 1;
      return ACCEPT;
    },
    trackedSources: () => sources.size,
    evictedSources: () => evicted,
  };
}

function matches(addr: ipaddr.IPv4 | ipaddr.IPv6, range: Range): boolean {
  return addr.kind() === range[0].kind() && addr.match(range);
}
