/** IP addresses and endpoints: normalising, classifying and printing them (no I/O). */
import ipaddr from 'ipaddr.js';

/** An address and port. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
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

/** `addr:port`, with IPv6 addresses in brackets. */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
