/** Dependency-free numbers of the echo protocol and of UDP over IPv4 and IPv6. */

/** The well-known echo port (RFC 862). */
export const ECHO_PORT = 7;

/** Largest UDP payload over IPv4: 65535 - 20 (IPv4 header) - 8 (UDP header). */
export const MAX_PAYLOAD_IPV4 = 65507;

/** Largest UDP payload over IPv6 without jumbograms: 65535 - 8 (UDP header). */
export const MAX_PAYLOAD_IPV6 = 65527;

/**
 * Source ports that make echo loops or reflection amplifiers when answered: 0 (invalid), echo (7),
 * discard (9), daytime (13), chargen (19), time (37). CERT CA-1996-01, CVE-1999-0103, CVE-2024-2169.
 */
export const DEFAULT_LOOP_PORTS: readonly number[] = Object.freeze([0, 7, 9, 13, 19, 37]);

/** Address family of a socket or target. */
export type Family = 'IPv4' | 'IPv6';

/** The largest payload for a family. */
export function maxPayload(family: Family): number {
  return family === 'IPv4' ? MAX_PAYLOAD_IPV4 : MAX_PAYLOAD_IPV6;
}

/**
 * The boundary ladder of catalogue case 3.1: around 2^n, 999-1001, the IPv6 minimum MTU (1280),
 * Ethernet payloads (1472/1473 over IPv4, 1500/1501), DNS's 1232, jumbo frames (9216) and 16/32 KiB.
 */
export const SIZE_LADDER: readonly number[] = Object.freeze([
  1, 2, 7, 8, 255, 256, 511, 512, 999, 1000, 1001, 1023, 1024, 1025, 1232, 1280, 1472, 1473, 1500, 1501, 2047,
  2048, 2049, 4095, 4096, 4097, 8191, 8192, 8193, 9216, 9217, 12287, 12288, 12289, 16384, 32768,
]);
