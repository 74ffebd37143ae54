/**
 * The preflight: before any case or load, does the target answer at all, how far away is it, and
 * how fast does it serve? A connected socket turns ICMP port unreachable into an immediate,
 * named diagnosis; an unconnected one also sees replies from another address or port. Every
 * attempt goes out on the same two sockets, so a late reply to an earlier attempt still counts.
 */
import { formatEndpoint, normalizeAddress } from '../core/address.js';
import { EchoClient, nowNs, type Datagram, type ReceiveOutcome } from '../net/echo-client.js';
import { patternPayload } from '../protocol/payloads.js';
import type { ResolvedTarget } from './target.js';

/** How the target answered when it did: round trips and how fast it serves requests. */
export interface PreflightTiming {
  /** Round trips of single echoes, ms: the median and the largest. */
  readonly rttMs: number;
  readonly rttMaxMs: number;
  /**
   * Time between the replies to a burst of requests sent at once, ms (0 when they came back
   * together): a server that serves one request at a time shows its service time here.
   */
  readonly serviceMs: number;
  /** Requests of the burst that got no reply. */
  readonly burstLost: number;
  readonly burst: number;
}

/** Whether the target answers at all, with one clear diagnosis when it does not. */
export interface PreflightResult {
  readonly reachable: boolean;
  /** One line: what was found. */
  readonly diagnosis: string;
  readonly rttMs?: number;
  /** How it answered (absent when it did not, or when only reachability was asked). */
  readonly timing?: PreflightTiming;
  /** A remark worth reporting even when reachable (e.g. replies from an unexpected address). */
  readonly note?: string;
  /** The connected socket got ICMP port unreachable: nothing listens there. */
  readonly refused?: boolean;
  /** No reply and no error: the target may be absent, or present and broken (harness/probes/silence.ts tells). */
  readonly silent?: boolean;
}

/** How hard to try. */
export interface PreflightOptions {
  readonly attempts: number;
  /** Wait for each attempt, ms (the check's --timeout: a far or slow target gets it in full). */
  readonly timeoutMs: number;
  /** Also measure round trips and the service time (a few more echoes and one small burst). @defaultValue false */
  readonly measure?: boolean;
}

/**
 * The preflight of a command without a --timeout of its own (`load`, `load --search`, `load --suite`):
 * the attempts and wait `check` uses with its default --timeout.
 */
export const DEFAULT_PREFLIGHT: PreflightOptions = Object.freeze({ attempts: 3, timeoutMs: 1000 });

/** Echoes of the round-trip measurement, and requests of the burst. */
const MEASURE = { echoes: 5, burst: 8 } as const;

/**
 * The next datagram or fault from either socket, or a timeout. An outcome a losing wait took at the
 * same moment is kept in `held` for the next call, not lost.
 */
async function nextOf(
  sockets: readonly EchoClient[],
  held: { o: ReceiveOutcome; via: number }[],
  timeoutMs: number,
): Promise<{ o: ReceiveOutcome; via: number }> {
  const kept = held.shift();
  if (kept) return kept;
  const stop = new AbortController();
  const waits = sockets.map((s, via) => s.receive(timeoutMs, stop.signal).then((o) => ({ o, via })));
  const first = await Promise.race(waits);
  stop.abort();
  for (const r of await Promise.all(waits)) if (r !== first && r.o.kind !== 'timeout') held.push(r);
  return first;
}

/** Decides reachable or not before the catalogue runs, so an unreachable target gets one diagnosis, not a wall of failures. */
export async function preflight(target: ResolvedTarget, options: PreflightOptions): Promise<PreflightResult> {
  const where = `udp/${target.port} at ${target.address}`;
  const expected = formatEndpoint(normalizeAddress(target.address), target.port);
  const to = { address: target.address, port: target.port };
  const connected = await EchoClient.open({ family: target.family, connect: to });
  const loose = await EchoClient.open({ family: target.family, bufferBytes: 1 << 20 }).catch(
    async (err: unknown) => {
      await connected.close();
      throw err;
    },
  );
  const sockets = [connected, loose];
  const held: { o: ReceiveOutcome; via: number }[] = [];
  const wait = (timeoutMs: number): Promise<{ o: ReceiveOutcome; via: number }> =>
    nextOf(sockets, held, timeoutMs);
  try {
    const sentAt = new Map<string, bigint>();
    let reply: { d: Datagram; via: number; rttNs: bigint } | undefined;
    for (let attempt = 1; attempt <= options.attempts && !reply; attempt++) {
      const payload = patternPayload(32);
      sentAt.set(payload.toString('latin1'), nowNs());
      await Promise.all([connected.send(payload), loose.send(payload, to)]);
      const deadline = Date.now() + options.timeoutMs;
      while (!reply) {
        const { o, via } = await wait(deadline - Date.now());
        if (o.kind === 'timeout') break;
        if (o.kind === 'fault') {
          const { errno, message } = o.fault;
          if (errno === 'ECONNREFUSED') {
            return {
              reachable: false,
              refused: true,
              diagnosis: `nothing listens on ${where} (ICMP port unreachable)`,
            };
          }
          if (errno === 'EHOSTUNREACH' || errno === 'ENETUNREACH') {
            return { reachable: false, diagnosis: `no route to ${target.address} (${errno}) for ${where}` };
          }
          return { reachable: false, diagnosis: `${where}: ${errno} (${message})` };
        }
        // Any attempt's payload counts: a late reply to an earlier attempt is still an answer.
        const at = sentAt.get(o.datagram.data.toString('latin1'));
        reply = { d: o.datagram, via, rttNs: o.datagram.atNs - (at ?? o.datagram.atNs) };
      }
    }
    if (!reply) {
      const loopback = target.address.startsWith('127.') || target.address === '::1';
      return {
        reachable: false,
        silent: true,
        diagnosis:
          `no reply from ${where} after ${options.attempts} attempts of ${options.timeoutMs} ms` +
          (loopback
            ? ': the server answers nobody from loopback (some inetds drop datagrams from 127/8 sources) or is not an echo server'
            : ': the host or a firewall drops the datagrams, or the server does not answer this source'),
      };
    }
    const from = formatEndpoint(normalizeAddress(reply.d.from.address), reply.d.from.port);
    const note =
      reply.via === 1 && from !== expected
        ? `replies come from ${from}, not from ${expected}: clients with connected sockets never see them`
        : undefined;
    const rttMs = Number(reply.rttNs) / 1e6;
    const timing = options.measure ? await measure(loose, to, options.timeoutMs, rttMs) : undefined;
    return {
      reachable: true,
      diagnosis: `${where} answers (${rttMs.toFixed(3)} ms)`,
      rttMs,
      ...(timing ? { timing } : {}),
      ...(note ? { note } : {}),
    };
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
  }
}

/**
 * Round trips of a few single echoes, then one burst sent at once: the spread of its replies shows
 * how fast the target serves requests one after another. Waits are bounded by `timeoutMs` each.
 */
async function measure(
  socket: EchoClient,
  to: { readonly address: string; readonly port: number },
  timeoutMs: number,
  firstRttMs: number,
): Promise<PreflightTiming> {
  const rtts = [firstRttMs];
  const collect = async (payloads: readonly Buffer[], windowMs: number): Promise<Map<string, bigint>> => {
    const wanted = new Set(payloads.map((p) => p.toString('latin1')));
    const got = new Map<string, bigint>();
    const deadline = Date.now() + windowMs;
    while (got.size < wanted.size) {
      const o = await socket.receive(deadline - Date.now());
      if (o.kind === 'timeout') break;
      if (o.kind !== 'datagram') continue;
      const key = o.datagram.data.toString('latin1');
      if (wanted.has(key) && !got.has(key)) got.set(key, o.datagram.atNs);
    }
    return got;
  };
  for (let i = 1; i < MEASURE.echoes; i++) {
    const payload = patternPayload(32);
    const at = nowNs();
    await socket.send(payload, to);
    const got = await collect([payload], timeoutMs);
    const t = got.get(payload.toString('latin1'));
    if (t !== undefined) rtts.push(Number(t - at) / 1e6);
  }
  const burst = Array.from({ length: MEASURE.burst }, () => patternPayload(32));
  const sentAt = nowNs();
  for (const p of burst) await socket.send(p, to);
  // The burst may queue behind itself: allow each request its own service time on top of one wait.
  const slowest = Math.max(...rtts);
  const got = await collect(burst, timeoutMs + slowest * MEASURE.burst);
  const times = [...got.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const first = times[0] ?? sentAt;
  const last = times[times.length - 1] ?? sentAt;
  const serviceMs = times.length > 1 ? Number(last - first) / 1e6 / (times.length - 1) : 0;
  const sorted = [...rtts].sort((a, b) => a - b);
  return {
    rttMs: sorted[Math.floor(sorted.length / 2)] ?? firstRttMs,
    rttMaxMs: sorted[sorted.length - 1] ?? firstRttMs,
    serviceMs,
    burstLost: MEASURE.burst - got.size,
    burst: MEASURE.burst,
  };
}
