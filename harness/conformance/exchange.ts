/**
 * The one verified exchange path of the catalogue. A case sends through its context; every socket is
 * a ledger socket, so every reply is checked against the whole echo contract (source address and
 * port, the socket that sent the request, the bytes, once) and whatever arrives later is still seen.
 */
import { formatEndpoint, type Endpoint } from '../core/address.js';
import type { Datagram, SocketFault } from '../net/echo-client.js';
import type { Family } from '../protocol/constants.js';
import { comparePayloads, sha256, type PayloadComparison } from '../results/evidence.js';
import type { Arrival, Ledger, LedgerSocket, LedgerSocketOptions, WireRequest } from './ledger.js';

/** A case's view of the run's ledger: sockets and requests are attributed to the case. */
export class CaseWire {
  constructor(
    private readonly ledger: Ledger,
    /** The case this wire belongs to. */
    readonly caseId: string,
    /** Where requests go unless a case says otherwise. */
    readonly target: Endpoint & { readonly family: Family },
    /** Aborted when the run stops waiting (the target is down, the run is interrupted). */
    readonly signal: AbortSignal,
    /** Called when a reply did not come in time: the run then checks that the target is still there. */
    private readonly onTimeout: () => void = () => undefined,
  ) {}

  /** Tells the run that a reply did not come in time. */
  timedOut(): void {
    this.onTimeout();
  }

  /**
   * Tells the run that a retry was answered where an earlier attempt got nothing: the path loses
   * datagrams, and later exchanges get further attempts (`CaseTiming.attempts`).
   */
  retryAnswered(): void {
    this.ledger.noteAnsweredRetry();
  }

  /** True when the target echoed a request smaller than `length` bytes intact in this run. */
  echoedSmallerThan(length: number): boolean {
    return this.ledger.echoedSmallerThan(length);
  }

  /** The largest request of the run whose reply came back intact (-1: none yet). */
  largestEchoed(): number {
    return this.ledger.largestEchoed();
  }

  /** This run's tag, the first word after "echolot" in every text payload. */
  get tag(): string {
    return this.ledger.tag;
  }

  /** A printable payload of this case: `echolot <tag> <case> <label> <n>`. */
  text(label = ''): Buffer {
    return this.ledger.text(label ? `${this.caseId} ${label}` : this.caseId);
  }

  /** A run-unique nonce (`<tag>-<n>`), for pattern payloads. */
  nonce(): string {
    return this.ledger.nonce();
  }

  /** Opens a socket of the target's family (unless given), watched by the ledger until the run ends. */
  open(options: Partial<LedgerSocketOptions> = {}): Promise<LedgerSocket> {
    return this.ledger.open(this.caseId, { family: this.target.family, ...options });
  }

  /** The run's open socket bound to `address`:`port` (an earlier case's, kept open to the end), if any. */
  heldSocket(address: string, port: number): LedgerSocket | undefined {
    return this.ledger.heldSocket(address, port);
  }

  /** Sends `data` from `socket` (to the target unless `to` is given) and records the request. */
  send(
    socket: LedgerSocket,
    data: Uint8Array,
    options: {
      readonly to?: Endpoint;
      readonly expectFrom?: Endpoint;
      readonly expect?: WireRequest['expect'];
      readonly connected?: boolean;
      readonly addressJudgedByCase?: boolean;
      readonly onRecord?: (r: WireRequest) => void;
    } = {},
  ): Promise<WireRequest> {
    const { to = this.target, ...rest } = options;
    return this.ledger.send(socket, data, { address: to.address, port: to.port }, rest);
  }

  /** Closes a socket now, on purpose: its port may go to any socket on the host. */
  close(socket: LedgerSocket): Promise<void> {
    return this.ledger.closeSocket(socket);
  }

  /** The run's sockets still open: descriptors of this process that the harness holds on purpose. */
  openSockets(): number {
    return this.ledger.openSockets();
  }

  /** No longer waits for `requests`: a first reply to one of them after now counts as late. */
  stopWaiting(requests: Iterable<WireRequest>): void {
    this.ledger.stopWaiting(requests);
  }
}

/** One exchange to make: where, from what socket, how long to wait, how often to try. */
export interface ExchangeOptions {
  /** Destination. @defaultValue the target */
  readonly to?: Endpoint;
  /** Where the reply must come from. @defaultValue the destination */
  readonly expectFrom?: Endpoint;
  /** Socket family. @defaultValue the target's */
  readonly family?: Family;
  /** Use a connected socket (the kernel filters other sources and reports ICMP errors). @defaultValue false */
  readonly connected?: boolean;
  readonly bindAddress?: string;
  readonly bufferBytes?: number;
  /** After the reply, keep listening this long for further copies (which the ledger also records). @defaultValue 0 */
  readonly graceMs?: number;
  /** The case judges the reply's source address itself (a finding of its own); the ledger checks the port. @defaultValue false */
  readonly addressJudgedByCase?: boolean;
}

/** What one exchange produced: data for a case to grade, never an exception for a target fault. */
export interface Exchange {
  /** The deciding attempt: where it went and what it carried. */
  readonly request: { readonly to: Endpoint; readonly payload: Uint8Array };
  readonly local: Endpoint;
  /** The reply (or the datagram the socket got while the request waited, damaged or not). */
  readonly reply: Datagram | undefined;
  /**
   * Set when no attempt was answered but further requests of the same size came back intact: the
   * path loses datagrams of this size (their fragments), the target echoes them. What was tried.
   */
  readonly pathLoss?: string;
  /** Further copies within the grace window. */
  readonly extra: readonly Datagram[];
  readonly fault: SocketFault | undefined;
  readonly timedOut: boolean;
  readonly rttNs: bigint | undefined;
  /** Attempts made (more than 1 only after timeouts). */
  readonly attempts: number;
  /** The reply answered an earlier attempt after its wait had ended. */
  readonly late: boolean;
}

/**
 * Sends a payload and waits for its reply, retrying only after a timeout, with a fresh payload on the
 * same socket: a late reply to an earlier attempt is still recognised (late, not none). A wrong
 * reply is never retried. `attempts` and `timeoutMs` come from the run's timing. The socket is
 * fresh and let go of afterwards (the ledger keeps watching it).
 */
export async function exchange(
  wire: CaseWire,
  makePayload: (attempt: number) => Uint8Array,
  timing: { readonly attempts: number; readonly timeoutMs: number },
  options: ExchangeOptions = {},
): Promise<Exchange> {
  const to = options.to ?? wire.target;
  const socket = await wire.open({
    ...(options.family === undefined ? {} : { family: options.family }),
    ...(options.bindAddress === undefined ? {} : { bindAddress: options.bindAddress }),
    ...(options.connected ? { connect: { address: to.address, port: to.port } } : {}),
    ...(options.bufferBytes === undefined ? {} : { bufferBytes: options.bufferBytes }),
  });
  try {
    return await exchangeOn(wire, socket, makePayload, timing, options);
  } finally {
    socket.release();
  }
}

/**
 * The exchange on a socket the case holds (a client whose identity is under test): the same
 * attempts and waits, and the datagrams this socket got that were not its reply (`strays`: another
 * client's reply, a copy) for the case to name.
 */
export async function exchangeOn(
  wire: CaseWire,
  socket: LedgerSocket,
  makePayload: (attempt: number) => Uint8Array,
  timing: { readonly attempts: number; readonly timeoutMs: number },
  options: Pick<ExchangeOptions, 'to' | 'expectFrom' | 'connected' | 'graceMs' | 'addressJudgedByCase'> = {},
): Promise<Exchange & { readonly strays: readonly Arrival[] }> {
  const to = options.to ?? wire.target;
  const sent: { request: WireRequest; payload: Uint8Array }[] = [];
  const strays: Arrival[] = [];
  const local = socket.local;
  const none = { reply: undefined, extra: [], rttNs: undefined, late: false, strays } as const;
  try {
    for (let attempt = 1; attempt <= Math.max(1, timing.attempts); attempt++) {
      // The run has stopped waiting (the target is down): nothing more is sent.
      if (wire.signal.aborted) break;
      const payload = makePayload(attempt);
      const request = await wire.send(socket, payload, {
        to,
        ...(options.expectFrom ? { expectFrom: options.expectFrom } : {}),
        ...(options.connected ? { connected: true } : {}),
        ...(options.addressJudgedByCase ? { addressJudgedByCase: true } : {}),
      });
      sent.push({ request, payload });
      const deadline = Date.now() + timing.timeoutMs;
      for (;;) {
        const e = await socket.next(deadline - Date.now(), wire.signal);
        if (e.kind === 'timeout') {
          // This attempt's wait is over: a reply to it from now on is late, and a copy another socket
          // got meanwhile was its reply, misdelivered (a retry of the same bytes must not absolve it).
          wire.stopWaiting([request]);
          // No reply in time: the run checks whether the target is still there.
          if (!wire.signal.aborted) wire.timedOut();
          break;
        }
        if (e.kind === 'fault') {
          return {
            ...none,
            request: { to, payload },
            local,
            fault: e.fault,
            timedOut: false,
            attempts: attempt,
          };
        }
        const a = e.arrival;
        const answered = a.request ? sent.find((s) => s.request === a.request) : undefined;
        const isReply =
          (a.kind === 'reply' || a.kind === 'late' || a.kind === 'damaged') && answered !== undefined;
        // Anything else (a copy, another socket's reply, a foreign datagram) is the ledger's to judge.
        if (!isReply && a.kind !== 'unmatched') {
          strays.push(a);
          continue;
        }
        const decided = answered ?? { request, payload };
        if (attempt > 1) wire.retryAnswered();
        const extra = options.graceMs
          ? (await socket.drain(options.graceMs, wire.signal)).filter((x) => {
              if (x.request === decided.request) return true;
              strays.push(x);
              return false;
            })
          : [];
        return {
          request: { to, payload: decided.payload },
          local,
          reply: a.datagram,
          extra: extra.map((x) => x.datagram),
          fault: undefined,
          timedOut: false,
          rttNs: a.datagram.atNs - decided.request.sentAtNs,
          attempts: attempt,
          late: decided.request !== request,
          strays,
        };
      }
      if (wire.signal.aborted) break;
    }
    const last = sent[sent.length - 1];
    return {
      ...none,
      request: { to, payload: last?.payload ?? new Uint8Array() },
      local,
      fault: undefined,
      timedOut: true,
      attempts: sent.length,
    };
  } finally {
    wire.stopWaiting(sent.map((s) => s.request));
  }
}

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
 * another address or port. Returns whichever answers first; both stay watched by the ledger.
 */
export async function dualExchange(
  wire: CaseWire,
  to: Endpoint,
  family: Family,
  payload: Uint8Array,
  timeoutMs: number,
): Promise<DualOutcome> {
  const connected = await wire.open({ family, connect: { address: to.address, port: to.port } });
  const loose = await wire.open({ family });
  const requests: WireRequest[] = [];
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, wire.signal]);
  try {
    requests.push(await wire.send(connected, payload, { to, connected: true }));
    requests.push(await wire.send(loose, payload, { to }));
    const wait = async (socket: LedgerSocket, via: 'connected' | 'unconnected'): Promise<DualOutcome> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const e = await socket.next(deadline - Date.now(), signal);
        if (e.kind !== 'arrival') return e;
        const a = e.arrival;
        if (a.kind !== 'reply' && a.kind !== 'late' && a.kind !== 'damaged' && a.kind !== 'unmatched')
          continue;
        const sentAt = requests.find((r) => r.socket === socket)?.sentAtNs ?? a.datagram.atNs;
        return {
          kind: 'reply',
          reply: a.datagram,
          via,
          rttNs: a.datagram.atNs - sentAt,
          local: socket.local,
        };
      }
    };
    const first = await Promise.race([wait(connected, 'connected'), wait(loose, 'unconnected')]);
    stop.abort();
    return first;
  } finally {
    stop.abort();
    wire.stopWaiting(requests);
    connected.release();
    loose.release();
  }
}

/** What evidence needs of an exchange. */
export interface ExchangeLike {
  readonly request: { readonly to: Endpoint; readonly payload: Uint8Array };
  readonly local: Endpoint;
  readonly reply: Datagram | undefined;
  readonly extra: readonly Datagram[];
  readonly fault: SocketFault | undefined;
  readonly timedOut: boolean;
  readonly rttNs: bigint | undefined;
  readonly attempts: number;
  readonly late?: boolean;
  readonly pathLoss?: string;
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
  readonly late?: boolean;
  readonly pathLoss?: string;
  readonly fault?: string;
  readonly timedOut: boolean;
  readonly attempts: number;
}

/** Turns an exchange into evidence for the report. */
export function exchangeEvidence(r: ExchangeLike): ExchangeEvidence {
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
    ...(r.late ? { late: true } : {}),
    ...(r.pathLoss ? { pathLoss: r.pathLoss } : {}),
    ...(r.fault ? { fault: `${r.fault.errno}: ${r.fault.message}` } : {}),
    timedOut: r.timedOut,
    attempts: r.attempts,
  };
}

/** One phrase for an exchange that got no usable reply. */
export function noReplyPhrase(r: ExchangeLike, timeoutMs: number): string {
  if (r.fault) return `no reply: ${r.fault.errno} (${r.fault.message})`;
  return `no reply within ${timeoutMs} ms after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}`;
}
