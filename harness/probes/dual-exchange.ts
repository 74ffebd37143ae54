import {
  EchoClient,
  nowNs,
  type Datagram,
  type ReceiveOutcome,
  type SocketFault,
} from '../net/echo-client.js';
import type { Family } from '../protocol/constants.js';
import type { Endpoint } from './exchange.js';

/** What a dual exchange found. */
export type DualOutcome =
  /** A reply arrived; `via` says which socket saw it (only the unconnected one sees misaddressed replies). */
  | {
      readonly kind: 'reply';
      readonly reply: Datagram;
      readonly via: 'connected' | 'unconnected';
      readonly rttNs: bigint;
      readonly local: Endpoint;
    }
  /** The connected socket got an ICMP error: ECONNREFUSED means nothing listens there. */
  | { readonly kind: 'fault'; readonly fault: SocketFault }
  | { readonly kind: 'timeout' };

/**
 * Sends the same payload from two fresh sockets at once: a connected one, which turns ICMP
 * port-unreachable into an immediate answer, and an unconnected one, which also sees replies from
 * another address or port. Returns whichever answers first.
 */
export async function dualExchange(
  to: Endpoint,
  family: Family,
  payload: Uint8Array,
  timeoutMs: number,
): Promise<DualOutcome> {
  const connected = await EchoClient.open({ family, connect: to });
  const loose = await EchoClient.open({ family }).catch(async (err: unknown) => {
    await connected.close();
    throw err;
  });
  const abort = new AbortController();
  try {
    const sentAt = nowNs();
    await Promise.all([connected.send(payload), loose.send(payload, to)]);
    const tagged = (p: Promise<ReceiveOutcome>, via: 'connected' | 'unconnected', c: EchoClient) =>
      p.then((o) => ({ o, via, local: c.local() }));
    const first = await Promise.race([
      tagged(connected.receive(timeoutMs, abort.signal), 'connected', connected),
      tagged(loose.receive(timeoutMs, abort.signal), 'unconnected', loose),
    ]);
    if (first.o.kind === 'datagram') {
      return {
        kind: 'reply',
        reply: first.o.datagram,
        via: first.via,
        rttNs: first.o.datagram.atNs - sentAt,
        local: first.local,
      };
    }
    return first.o;
  } finally {
    abort.abort();
    await Promise.all([connected.close(), loose.close()]);
  }
}
