import { EchoClient, nowNs, type Datagram, type SocketFault } from '../net/echo-client.js';
import type { Family } from '../protocol/constants.js';
import { comparePayloads, sha256, type PayloadComparison } from '../results/evidence.js';
import { formatEndpoint } from '../spec/target.js';

/** An address and port. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** One request/reply exchange to make. */
export interface ExchangeRequest {
  readonly to: Endpoint;
  readonly family: Family;
  readonly payload: Uint8Array;
  readonly timeoutMs: number;
  /** After the first reply, keep listening this long for further replies (duplicates). @defaultValue 0 */
  readonly graceMs?: number;
  /** Use a connected socket (the kernel filters other sources and reports ICMP errors). @defaultValue false */
  readonly connected?: boolean;
  /** Local address to bind, when a case needs one. */
  readonly bindAddress?: string;
  /** Socket buffer size for large datagrams. */
  readonly bufferBytes?: number;
}

/** What one exchange produced: data for a case to grade, never an exception for a target fault. */
export interface ExchangeResult {
  readonly request: ExchangeRequest;
  readonly local: Endpoint;
  readonly reply: Datagram | undefined;
  /** Replies after the first, within the grace window. */
  readonly extra: readonly Datagram[];
  readonly fault: SocketFault | undefined;
  readonly timedOut: boolean;
  readonly rttNs: bigint | undefined;
  /** Attempts made (more than 1 only after timeouts). */
  readonly attempts: number;
}

/** Sends one datagram from a fresh socket bound to port 0 and waits for the reply (and, optionally, duplicates). */
export async function exchangeOnce(req: ExchangeRequest): Promise<ExchangeResult> {
  const client = await EchoClient.open({
    family: req.family,
    ...(req.bindAddress === undefined ? {} : { bindAddress: req.bindAddress }),
    ...(req.connected ? { connect: req.to } : {}),
    ...(req.bufferBytes === undefined ? {} : { bufferBytes: req.bufferBytes }),
  });
  try {
    const local = client.local();
    const sentAt = nowNs();
    await client.send(req.payload, req.connected ? undefined : req.to);
    const first = await client.receive(req.timeoutMs);
    if (first.kind === 'timeout') {
      return {
        request: req,
        local,
        reply: undefined,
        extra: [],
        fault: undefined,
        timedOut: true,
        rttNs: undefined,
        attempts: 1,
      };
    }
    if (first.kind === 'fault') {
      return {
        request: req,
        local,
        reply: undefined,
        extra: [],
        fault: first.fault,
        timedOut: false,
        rttNs: undefined,
        attempts: 1,
      };
    }
    const extra = req.graceMs ? await client.drain(req.graceMs) : [];
    return {
      request: req,
      local,
      reply: first.datagram,
      extra,
      fault: undefined,
      timedOut: false,
      rttNs: first.datagram.atNs - sentAt,
      attempts: 1,
    };
  } finally {
    await client.close();
  }
}

/**
 * Runs an exchange, retrying only after a timeout (UDP may lose a datagram), each time with a fresh
 * socket and a fresh payload from `makePayload` (a new nonce). A wrong reply is never retried.
 */
export async function exchangeWithRetry(
  base: Omit<ExchangeRequest, 'payload'>,
  makePayload: (attempt: number) => Uint8Array,
  retries: number,
): Promise<ExchangeResult> {
  let result: ExchangeResult | undefined;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    result = { ...(await exchangeOnce({ ...base, payload: makePayload(attempt) })), attempts: attempt };
    if (!result.timedOut) return result;
  }
  if (!result) throw new Error('exchangeWithRetry: retries must be >= 0');
  return result;
}

/** JSON evidence of one exchange: who sent what to whom, what came back, from where, how fast. */
export interface ExchangeEvidence {
  readonly to: string;
  readonly local: string;
  readonly sentLength: number;
  readonly sentSha256: string;
  readonly replyFrom?: string;
  readonly comparison?: PayloadComparison;
  readonly extraReplies: number;
  readonly rttMs?: number;
  readonly fault?: string;
  readonly timedOut: boolean;
  readonly attempts: number;
}

/** Turns an exchange into evidence for the report. */
export function exchangeEvidence(r: ExchangeResult): ExchangeEvidence {
  return {
    to: formatEndpoint(r.request.to.address, r.request.to.port),
    local: formatEndpoint(r.local.address, r.local.port),
    sentLength: r.request.payload.length,
    sentSha256: sha256(r.request.payload),
    ...(r.reply
      ? {
          replyFrom: formatEndpoint(r.reply.from.address, r.reply.from.port),
          comparison: comparePayloads(r.request.payload, r.reply.data),
        }
      : {}),
    extraReplies: r.extra.length,
    ...(r.rttNs === undefined ? {} : { rttMs: Number(r.rttNs) / 1e6 }),
    ...(r.fault ? { fault: `${r.fault.errno}: ${r.fault.message}` } : {}),
    timedOut: r.timedOut,
    attempts: r.attempts,
  };
}

/** One phrase for an exchange that got no usable reply. */
export function noReplyPhrase(r: ExchangeResult, timeoutMs: number): string {
  if (r.fault) return `no reply: ${r.fault.errno} (${r.fault.message})`;
  return `no reply within ${timeoutMs} ms after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}`;
}
