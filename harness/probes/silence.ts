/**
 * Silence explained: a target that answered none of the preflight's echoes (and did not refuse
 * them) is either not there, or there and broken. For a target on this host, /proc/net/udp{,6}
 * tells whether a socket is bound to its port and which process holds it; where the harness may
 * open a packet socket, the wire witness shows what the target sent while it was asked again
 * (replies that leave for another port, say). Either makes the silence a finding of a case, not
 * an unreachable target.
 */
import { readFileSync } from 'node:fs';
import { formatEndpoint, isLoopback, normalizeAddress, type Endpoint } from '../core/address.js';
import { EchoClient } from '../net/echo-client.js';
import { patternPayload } from '../protocol/payloads.js';
import type { Family } from '../protocol/constants.js';
import { routeMtu } from '../testhost/route.js';
import { findUdpOwner } from './process-stats.js';
import { startWireWitness, witnessPhrase, type WitnessedDatagram } from './wire-witness.js';

/** What is known about a target that does not answer. */
export interface SilenceExplanation {
  /**
   * The case the silence is a finding of: 1.3 when the target sends its replies to another port
   * than the client's, 1.1 when a socket is bound to the port but nothing comes back. Undefined
   * when nothing explains the silence (the target is unreachable, as far as the harness can tell).
   */
  readonly caseId?: '1.1' | '1.3';
  /** One line: what was found (empty when nothing was). */
  readonly diagnosis: string;
  readonly evidence: Readonly<Record<string, unknown>>;
}

/** How to ask again. */
export interface SilenceOptions {
  /** Echoes to send while watching, each waited for `timeoutMs`. */
  readonly attempts: number;
  readonly timeoutMs: number;
  /** May open packet sockets (CAP_NET_RAW): the wire witness runs. */
  readonly rawSockets: boolean;
  /** Every address of this host's interfaces (a target at one of them is on this host). */
  readonly localAddresses: readonly string[];
}

/** The command name of a process (/proc/PID/comm), or undefined when it cannot be read. */
function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Where the wire witness should watch: loopback for this host's addresses, else the route's interface. */
async function witnessInterface(address: string, local: boolean): Promise<string | undefined> {
  if (local) return 'lo';
  return (await routeMtu(address))?.device;
}

/** Where the target's datagrams went, grouped by destination, most first. */
function destinations(seen: readonly WitnessedDatagram[]): string[] {
  const counts = new Map<string, number>();
  for (const d of seen) {
    const key = formatEndpoint(normalizeAddress(d.to.address), d.to.port);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([to]) => to);
}

/**
 * Asks a silent target again while watching the wire, and looks up who holds its port. Bounded:
 * `attempts` waits of `timeoutMs`, plus the witness's start-up.
 */
export async function explainSilence(
  target: Endpoint & { readonly family: Family },
  options: SilenceOptions,
): Promise<SilenceExplanation> {
  const address = normalizeAddress(target.address);
  const local = isLoopback(address) || options.localAddresses.includes(address);
  const iface = options.rawSockets ? await witnessInterface(address, local) : undefined;
  const witness = iface ? await startWireWitness(iface, target) : undefined;
  const client = await EchoClient.open({ family: target.family });
  let answered = false;
  let clientPort = 0;
  try {
    clientPort = client.local().port;
    for (let i = 0; i < options.attempts && !answered; i++) {
      await client.send(patternPayload(32), target);
      const o = await client.receive(options.timeoutMs);
      answered = o.kind === 'datagram';
    }
  } finally {
    await client.close();
  }
  const seen = witness ? await witness.stop() : undefined;
  const owner = local ? findUdpOwner(target, target.family) : undefined;
  const held =
    owner?.kind === 'found'
      ? `a socket bound to ${formatEndpoint(owner.bound, target.port)} by process ${owner.pid} (${commandOf(owner.pid) ?? 'unknown'})`
      : undefined;
  const evidence = {
    asked: `${options.attempts} echoes of ${options.timeoutMs} ms from port ${clientPort}`,
    ...(owner?.kind === 'found'
      ? { socketOwner: { pid: owner.pid, command: commandOf(owner.pid), bound: owner.bound } }
      : {}),
    ...(owner?.kind === 'none' ? { socketOwner: owner.reason } : {}),
    ...(seen
      ? { wire: { interface: iface, datagrams: seen.length, to: destinations(seen).slice(0, 8) } }
      : {}),
  };
  if (answered) return { diagnosis: 'it answered when asked again', evidence };
  const elsewhere = (seen ?? []).filter((d) => d.to.port !== clientPort);
  if (elsewhere.length > 0) {
    const to = destinations(elsewhere);
    return {
      caseId: '1.3',
      diagnosis:
        `replies leave for ${to.slice(0, 3).join(', ')}${to.length > 3 ? ` and ${to.length - 3} more` : ''}, ` +
        `not the client's port ${clientPort} (${witnessPhrase(elsewhere)}${iface ? ` on ${iface}` : ''})` +
        (held ? `; ${held}` : ''),
      evidence,
    };
  }
  if (held) {
    return {
      caseId: '1.1',
      diagnosis:
        `${held} never answers: no reply to ${options.attempts} echoes of ${options.timeoutMs} ms` +
        (seen ? `; ${witnessPhrase(seen)}` : ''),
      evidence,
    };
  }
  return { diagnosis: seen ? witnessPhrase(seen) : '', evidence };
}
