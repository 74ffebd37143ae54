/**
 * Requests from chosen (privileged) source ports, for the loop-protection cases: does the server
 * answer a datagram that claims to come from echo, chargen, discard, daytime or time?
 */
import { randomInt } from 'node:crypto';
import { EchoClient, type Datagram } from '../net/echo-client.js';
import { errnoOf } from '../errors.js';
import type { Family } from '../protocol/constants.js';
import type { Capabilities } from '../runner/capabilities.js';
import { isLoopback, normalizeAddress } from '../runner/capabilities.js';
import { formatEndpoint } from '../spec/target.js';
import type { Endpoint } from './exchange.js';

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

/**
 * Sends `payload` from `bindAddress:port` to `to` and collects everything that arrives on that
 * socket within `windowMs`. A missing reply is the expected result for a refused port, so there is
 * no retry here; the caller decides.
 */
export async function probeSourcePort(
  to: Endpoint,
  family: Family,
  bindAddress: string,
  port: number,
  payload: Uint8Array,
  windowMs: number,
): Promise<SourcePortProbe> {
  let client: EchoClient;
  try {
    client = await EchoClient.open({ family, bindAddress, bindPort: port });
  } catch (err) {
    return { port, outcome: 'unbindable', replies: [], errno: errnoOf(err) ?? String(err) };
  }
  try {
    await client.send(payload, to);
    const replies = await client.drain(windowMs);
    return { port, outcome: replies.length > 0 ? 'answered' : 'silent', replies };
  } finally {
    await client.close();
  }
}

/** JSON evidence of one source-port probe. */
export function sourcePortEvidence(bindAddress: string, p: SourcePortProbe): Record<string, unknown> {
  return {
    local: formatEndpoint(bindAddress, p.port),
    outcome: p.outcome,
    ...(p.errno ? { errno: p.errno } : {}),
    replies: p.replies.length,
    ...(p.replies[0]
      ? {
          replyFrom: formatEndpoint(p.replies[0].from.address, p.replies[0].from.port),
          replyLength: p.replies[0].data.length,
        }
      : {}),
  };
}
