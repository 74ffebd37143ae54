import { networkInterfaces, platform } from 'node:os';
import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';

/** What this client, platform and privilege allow; a case that needs more is UNSUPPORTED with the reason. */
export interface Capabilities {
  readonly os: NodeJS.Platform;
  readonly linux: boolean;
  /** Root (or CAP_NET_BIND_SERVICE-equivalent): may bind source ports below 1024. */
  readonly privileged: boolean;
  /** ::1 exists on this host. */
  readonly ipv6Loopback: boolean;
  /** Every address of every local interface, normalised. */
  readonly localAddresses: readonly string[];
  /** The OS ephemeral port range (Linux ip_local_port_range; IANA 49152..65535 elsewhere). */
  readonly ephemeralRange: readonly [number, number];
}

/** Normalises an IP address for comparison (IPv6 compressed lower-case, v4-mapped IPv6 to IPv4, no zone). */
export function normalizeAddress(address: string): string {
  const bare = address.split('%')[0] ?? address;
  if (!ipaddr.isValid(bare)) return bare.toLowerCase();
  const parsed = ipaddr.parse(bare);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address().toString() : v6.toString();
  }
  return parsed.toString();
}

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(address: string): boolean {
  const a = normalizeAddress(address);
  return a === '::1' || (ipaddr.IPv4.isValid(a) && ipaddr.IPv4.parse(a).range() === 'loopback');
}

function readEphemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (lo !== undefined && hi !== undefined && lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    // Not Linux, or /proc hidden: fall back to the IANA dynamic range.
  }
  return [49152, 65535];
}

/** Probes the capabilities once per run. */
export function probeCapabilities(): Capabilities {
  const addresses = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => normalizeAddress(i.address));
  return Object.freeze({
    os: platform(),
    linux: platform() === 'linux',
    privileged: typeof process.getuid === 'function' && process.getuid() === 0,
    ipv6Loopback: addresses.includes('::1'),
    localAddresses: Object.freeze(addresses),
    ephemeralRange: Object.freeze(readEphemeralRange()) as readonly [number, number],
  });
}
