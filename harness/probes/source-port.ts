/**
 * Requests from chosen (privileged) source ports, for the loop-protection cases: does the server
 * answer a datagram that claims to come from echo, chargen, discard, daytime or time?
 */
import { randomInt } from 'node:crypto';
import { EchoClient, type Datagram } from '../net/echo-client.js';
import { errnoOf } from '../errors.js';
import type { Family } from '../protocol/constants.js';
import type { Capabilities } from '../net/capabilities.js';
import { isLoopback, normalizeAddress } from '../core/address.js';
import type { Endpoint } from '../core/address.js';

/** What one request from a fixed source port drew within the listening window. */
export interface SourcePortProbe {
  readonly port: number;
  /** answered: at least one datagram came back; silent: none; unbindable: the port could not be bound. */
  readonly outcome: 'answered' | 'silent' | 'unbindable';
  readonly replies: readonly Datagram[];
  /** Why the port could not be bound (EADDRINUSE, EACCES). */
  readonly errno?: string;
}

/** Where a case sends its privileged-port requests from, or why it cannot. */
export type SourceAddress =
  | { readonly kind: 'ok'; readonly address: string; readonly why: string }
  | { readonly kind: 'none'; readonly reason: string };

/**
 * Picks the local address to send from: for a 127.0.0.1-style target a random 127/8 alias in
 * 127.77.0.0/16 (Linux answers all of 127/8 on lo), so a fixed low port never collides with another
 * run or service; for ::1 the loopback itself; otherwise the address the OS routes to the target from.
 */
export async function sourceAddressFor(
  to: Endpoint,
  family: Family,
  caps: Capabilities,
): Promise<SourceAddress> {
  if (isLoopback(to.address)) {
    if (family === 'IPv6') return { kind: 'ok', address: '::1', why: 'IPv6 loopback' };
    if (caps.linux && caps.loopbackAliases) {
      const alias = `127.77.${randomInt(1, 255)}.${randomInt(1, 255)}`;
      return { kind: 'ok', address: alias, why: 'an otherwise unused 127/8 alias' };
    }
    return { kind: 'ok', address: '127.0.0.1', why: 'IPv4 loopback' };
  }
  let probe: EchoClient | undefined;
  try {
    probe = await EchoClient.open({ family, connect: to });
    const address = normalizeAddress(probe.local().address);
    return { kind: 'ok', address, why: `the local address that routes to ${to.address}` };
  } catch (err) {
    return {
      kind: 'none',
      reason: `cannot find a local address that routes to ${to.address}: ${errnoOf(err) ?? String(err)}`,
    };
  } finally {
    await probe?.close();
  }
}
