import type { ResolvedTarget } from '../spec/target.js';
import { formatEndpoint } from '../spec/target.js';
import { dualExchange } from './dual-exchange.js';
import { patternPayload } from './payloads.js';

/** Whether the target answers at all, with one clear diagnosis when it does not. */
export interface PreflightResult {
  readonly reachable: boolean;
  /** One line: what was found. */
  readonly diagnosis: string;
  readonly rttMs?: number;
  /** A remark worth reporting even when reachable (e.g. replies from an unexpected address). */
  readonly note?: string;
}

/** How hard to try. */
export interface PreflightOptions {
  readonly attempts: number;
  readonly timeoutMs: number;
}

/** Decides reachable or not before the catalogue runs, so an unreachable target gets one diagnosis, not a wall of failures. */
export async function preflight(target: ResolvedTarget, options: PreflightOptions): Promise<PreflightResult> {
  const where = `udp/${target.port} at ${target.address}`;
  const expected = formatEndpoint(target.address, target.port);
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    const o = await dualExchange(target, target.family, patternPayload(32), options.timeoutMs);
    if (o.kind === 'reply') {
      const rttMs = Number(o.rttNs) / 1e6;
      const from = formatEndpoint(o.reply.from.address, o.reply.from.port);
      const note =
        o.via === 'unconnected' && from !== expected
          ? `replies come from ${from}, not from ${expected}: clients with connected sockets never see them`
          : undefined;
      return {
        reachable: true,
        diagnosis: `${where} answers (${rttMs.toFixed(3)} ms)`,
        rttMs,
        ...(note ? { note } : {}),
      };
    }
    if (o.kind === 'fault') {
      const { errno, message } = o.fault;
      if (errno === 'ECONNREFUSED')
        return { reachable: false, diagnosis: `nothing listens on ${where} (ICMP port unreachable)` };
      if (errno === 'EHOSTUNREACH' || errno === 'ENETUNREACH') {
        return { reachable: false, diagnosis: `no route to ${target.address} (${errno}) for ${where}` };
      }
      return { reachable: false, diagnosis: `${where}: ${errno} (${message})` };
    }
  }
  const loopback = target.address.startsWith('127.') || target.address === '::1';
  return {
    reachable: false,
    diagnosis:
      `no reply from ${where} after ${options.attempts} attempts of ${options.timeoutMs} ms` +
      (loopback
        ? ': the server answers nobody from loopback (some inetds drop datagrams from 127/8 sources) or is not an echo server'
        : ': the host or a firewall drops the datagrams, or the server does not answer this source'),
  };
}
