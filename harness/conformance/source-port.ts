/**
 * Requests from chosen (privileged) source ports, for the loop-protection cases: does the server
 * answer a datagram that claims to come from echo, chargen, discard, daytime or time? A request
 * that expects silence stays one after the window: a late answer still shows, in the ledger.
 */
import type { Datagram } from '../net/echo-client.js';
import type { Family } from '../protocol/constants.js';
import { errnoOf } from '../errors.js';
import { formatEndpoint, type Endpoint } from '../core/address.js';
import type { CaseWire } from './exchange.js';

/** What one request from a fixed source port drew within the listening window. */
export interface SourcePortProbe {
  readonly port: number;
  /** answered: at least one datagram came back; silent: none; unbindable: the port could not be bound. */
  readonly outcome: 'answered' | 'silent' | 'unbindable';
  readonly replies: readonly Datagram[];
  /** Why the port could not be bound (EADDRINUSE, EACCES). */
  readonly errno?: string;
}

/**
 * Sends `payload` from `bindAddress:port` to `to` and collects everything that arrives on that
 * socket within `windowMs`. A missing reply is the expected result for a refused port, so there is
 * no retry here; the caller decides.
 */
export async function probeSourcePort(
  wire: CaseWire,
  to: Endpoint,
  family: Family,
  bindAddress: string,
  port: number,
  payload: Uint8Array,
  windowMs: number,
  /**
   * 'silence' when a reply breaks loop protection (7.1, 7.2): the socket stays open to the end of
   * the run, so a late answer still shows. 'any' for a survey (7.3): the socket is closed after the
   * window, so the port can be asked again.
   */
  expect: 'silence' | 'any',
): Promise<SourcePortProbe> {
  let socket;
  // An earlier case of this run (7.1, 7.2) keeps its socket on this port open to the end: ask from it.
  const held = wire.heldSocket(bindAddress, port);
  if (held) {
    socket = held;
    socket.adopt();
  } else {
    try {
      socket = await wire.open({ family, bindAddress, bindPort: port });
    } catch (err) {
      return { port, outcome: 'unbindable', replies: [], errno: errnoOf(err) ?? String(err) };
    }
  }
  try {
    const request = await wire.send(socket, payload, { to, expect });
    // Only what answers this request: a late answer to the earlier case's request is that case's.
    const replies = (await socket.drain(windowMs, wire.signal))
      .filter((a) => a.kind !== 'foreign' && (a.request === undefined || a.request === request))
      .map((a) => a.datagram);
    return { port, outcome: replies.length > 0 ? 'answered' : 'silent', replies };
  } finally {
    if (expect === 'any' && !held) await wire.close(socket);
    else socket.release();
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
