/**
 * The run-wide ledger of a check. Every socket a case opens is a ledger socket, and stays open
 * until the run ends (plus a linger), so late datagrams are still seen. Every datagram that reaches
 * one is matched to the request (case, attempt) that caused it and classified; whatever breaks the
 * echo contract (reply from another port or address, on another socket, more than once, unasked)
 * becomes a breach of the case it belongs to, also when it shows after that case has ended.
 */
import type { DatagramAccounting } from '../results/run-info.js';
import { createHash, randomBytes } from 'node:crypto';
import { formatEndpoint, normalizeAddress, type Endpoint } from '../core/address.js';
import { escapeBytes } from '../core/escape.js';
import type { Family } from '../protocol/constants.js';
import {
  EchoClient,
  nowNs,
  type Datagram,
  type EchoClientOptions,
  type SocketFault,
} from '../net/echo-client.js';

/** What a request expects back. */
export type Expectation =
  /** exactly one reply, from `expectFrom` */
  | 'reply'
  /** no reply at all (loop protection: a reply is a finding of the case that sent it) */
  | 'silence'
  /** replies optional, at most one (floods: the target may drop some) */
  | 'any';

/** One datagram a case sent, as the ledger keeps it. */
export interface WireRequest {
  /** Run-unique number, in sending order. */
  readonly seq: number;
  readonly caseId: string;
  readonly socket: LedgerSocket;
  readonly to: Endpoint;
  /** Where the reply must come from (the destination, unless the case says otherwise). */
  readonly expectFrom: Endpoint;
  readonly length: number;
  readonly expect: Expectation;
  /** The case judges the reply's source address itself (its finding); the ledger checks the port only. */
  readonly addressJudgedByCase: boolean;
  readonly sentAtNs: bigint;
  /** Copies of its reply received so far. */
  copies: number;
  /** Bytes of the first copy, and of every copy together. */
  firstReplyBytes?: number;
  replyBytes: number;
  firstReplyAtNs?: bigint;
  /** When its case stopped waiting for it: a first reply after this is late. */
  waitEndedAtNs?: bigint;
  /**
   * A copy of its bytes that reached another socket (already answered) while it waited: its reply
   * sent to the wrong client if it stays unanswered, else a further copy of the other's reply.
   */
  suspectedCopy?: SuspectedCopy;
}

/** A copy of a request's bytes that reached another socket of the run, judged when the request's wait ends. */
export interface SuspectedCopy {
  readonly at: LedgerSocket;
  readonly fromText: string;
  readonly atNs: bigint;
  /** The answered request on that socket whose bytes these are too. */
  readonly copyOf: WireRequest;
  resolved: boolean;
}

/** How the ledger classifies an arriving datagram. */
export type ArrivalKind =
  /** the first copy of the reply to one of this socket's requests */
  | 'reply'
  /** the first copy, after its request's wait had ended */
  | 'late'
  /** a further copy of a reply already received */
  | 'duplicate'
  /** a reply to a request another socket of this run sent: it went to the wrong port */
  | 'misdelivered'
  /** a reply to a socket of this run that was closed on purpose, arriving at the socket that got its port: not the target's fault */
  | 'stale'
  /** the first reply to one of this socket's requests, named by its nonce, with other bytes */
  | 'damaged'
  /** from the target, matching no request: a damaged reply (when a request waits) or an unsolicited datagram */
  | 'unmatched'
  /** neither from the target (an address and port the run sent to) nor carrying this run's tag (another run's stray, another program): counted, never blamed */
  | 'foreign';

/** The key of an endpoint in Ledger.destinations. */
const endpointKey = (address: string, port: number): string => `${normalizeAddress(address)}|${port}`;

/** A breach of the echo contract: which clause, how strong, whose, and what was seen. */
export interface Breach {
  readonly clause: 'source-port' | 'source-address' | 'socket' | 'once' | 'silence' | 'unsolicited' | 'bytes';
  /** MUST (RFC 862: the swap, the bytes, once) or SHOULD (RFC 1122: the address). */
  readonly severity: 'MUST' | 'SHOULD';
  readonly caseId: string;
  readonly message: string;
  readonly atNs: bigint;
  /** True when it showed after its case had ended: it amends that case's verdict. */
  readonly afterCase: boolean;
  /** For 'once': the request's seq, so a repetition can be looked for with fresh payloads. */
  readonly request?: number;
  readonly evidence: Readonly<Record<string, unknown>>;
}

/** One datagram as the ledger saw it. */
export interface Arrival {
  readonly kind: ArrivalKind;
  readonly datagram: Datagram;
  /** The socket it arrived on. */
  readonly socket: LedgerSocket;
  /** The request it answers (reply, late, duplicate, misdelivered, stale). */
  readonly request?: WireRequest;
  /** What it breaks, when it breaks the contract. */
  readonly breaches: readonly Breach[];
}

/** What a receive on a ledger socket produced. */
export type WireEvent =
  | { readonly kind: 'arrival'; readonly arrival: Arrival }
  | { readonly kind: 'fault'; readonly fault: SocketFault }
  | { readonly kind: 'timeout' };

/** Counts of a run's datagrams, by class: the accounting a check reports. */
export type LedgerCounts = DatagramAccounting;

/** How to open a ledger socket. */
export type LedgerSocketOptions = EchoClientOptions;

/** Breaches kept per case (the rest are counted): a flood may breach the contract thousands of times. */
const MAX_KEPT_BREACHES = 100;

/** Payload keys: short payloads as they are, long ones by hash (same length and hash: same payload). */
function keyOf(data: Uint8Array): string {
  if (data.length <= 512)
    return `s${Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1')}`;
  return `h${data.length}:${createHash('sha1').update(data).digest('base64')}`;
}

/**
 * The nonce echolot's payloads start with: `<8 hex run tag>-<base36 counter>`, after "echolot " in
 * text payloads, at the very start of pattern payloads. Unique in a run, unique across runs.
 */
const NONCE = /^(?:echolot )?([0-9a-f]{8})-([0-9a-z]+)(?=[^0-9a-z]|$)/;

/** The nonce a payload starts with (tag and counter), if any. */
export function nonceOf(data: Uint8Array): { readonly tag: string; readonly nonce: string } | undefined {
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.length, 40)).toString('latin1');
  const m = NONCE.exec(head);
  return m?.[1] && m[2] ? { tag: m[1], nonce: `${m[1]}-${m[2]}` } : undefined;
}

/** A socket of the run. It stays open until the run ends unless closed on purpose. */
export class LedgerSocket {
  /** This socket's requests, by payload key. */
  readonly requests = new Map<string, WireRequest[]>();
  /** Arrivals not yet taken by the case. */
  private readonly queue: WireEvent[] = [];
  private waiter: ((e: WireEvent) => void) | undefined;
  /** Its case has let go of it: arrivals go to the ledger only. */
  released = false;
  /** Closed on purpose (its port may be given to another socket). */
  closed = false;
  /** Datagrams from the target that reached it, and requests it sent. */
  arrivals = 0;
  sent = 0;
  /** Requests it sent that carry no nonce of this run (too short for one): a reply to one can be named only by its bytes. */
  sentUnnamed = 0;
  readonly local: Endpoint;

  constructor(
    readonly id: number,
    readonly caseId: string,
    readonly family: Family,
    readonly client: EchoClient,
  ) {
    this.local = client.local();
  }

  /**
   * Exchanges of this socket that still wait for their first reply: a datagram that matches none
   * of them may be a damaged reply, which the waiting case judges by its bytes.
   */
  waiting(): WireRequest[] {
    const out: WireRequest[] = [];
    for (const list of this.requests.values())
      for (const r of list)
        if (r.copies === 0 && r.waitEndedAtNs === undefined && r.expect === 'reply') out.push(r);
    return out;
  }

  /** Hands an event to the case (or keeps it until the case asks). */
  deliver(e: WireEvent): void {
    if (this.released) return;
    if (this.waiter) this.waiter(e);
    else this.queue.push(e);
  }

  /** The next arrival or fault on this socket, or a timeout after `timeoutMs` (or when `signal` aborts). */
  next(timeoutMs: number, signal?: AbortSignal): Promise<WireEvent> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.released || this.closed || signal?.aborted) return Promise.resolve({ kind: 'timeout' });
    return new Promise((resolve) => {
      const finish = (e: WireEvent): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        resolve(e);
      };
      const onAbort = (): void => finish({ kind: 'timeout' });
      const timer = setTimeout(onAbort, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = finish;
    });
  }

  /** Sends one datagram to `to`, or to the connected peer when `to` is omitted. */
  send(data: Uint8Array, to?: Endpoint): Promise<void> {
    return this.client.send(data, to);
  }

  /** Every arrival within `windowMs` (what a case listens for after a reply: further copies, strays). */
  async drain(windowMs: number, signal?: AbortSignal): Promise<Arrival[]> {
    const deadline = Date.now() + windowMs;
    const out: Arrival[] = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 && this.queue.length === 0) return out;
      const e = await this.next(Math.max(0, left), signal);
      if (e.kind === 'timeout') return out;
      if (e.kind === 'arrival') out.push(e.arrival);
    }
  }

  /** Reads the socket again (a later case that needs the same local port takes it over). */
  adopt(): void {
    this.released = false;
  }

  /** Lets go of the socket: it stays open and watched until the run ends, its case no longer reads it. */
  release(): void {
    this.released = true;
    this.queue.length = 0;
    this.waiter?.({ kind: 'timeout' });
  }
}

/** The ledger of one run. */
export class Ledger {
  /** This run's tag: it starts every text payload, so a datagram of this run is known as one. */
  readonly tag = randomBytes(4).toString('hex');
  private readonly sockets: LedgerSocket[] = [];
  /** Requests whose payload carries a nonce, by nonce: a reply on the wrong socket, or damaged, is found here. */
  private readonly byNonce = new Map<string, WireRequest>();
  /** Every request in sending order. */
  private readonly sent: WireRequest[] = [];
  /**
   * Endpoints (address and port) the run sent requests to or expects replies from: a datagram from one
   * of them is from the target. Another port of the same address is not (on loopback every server of
   * the host shares the address: another check's server, say).
   */
  private readonly destinations = new Set<string>();
  /** Breaches by case: the first MAX_KEPT of each, and how many in all. */
  private readonly byCase = new Map<string, { list: Breach[]; total: number }>();
  private readonly endedCases = new Set<string>();
  private readonly listeners: ((b: Breach) => void)[] = [];
  private readonly arrivalListeners: ((a: Arrival) => void)[] = [];
  private nonces = 0;
  private counts = {
    requests: 0,
    bytesSent: 0,
    replies: 0,
    bytesReceived: 0,
    late: 0,
    duplicates: 0,
    misdelivered: 0,
    stale: 0,
    unmatched: 0,
    foreign: 0,
  };
  private finished = false;
  /** Requests answered only on a retry: the path (or the target) lost an earlier attempt. */
  private answeredRetries = 0;
  /** The smallest request the target echoed intact in this run (Infinity before the first). */
  private smallestIntact = Infinity;
  private largestIntact = -1;

  /** A run-unique nonce, `<tag>-<n>`: pattern payloads start with it. */
  nonce(): string {
    return `${this.tag}-${(this.nonces++).toString(36)}`;
  }

  /** A printable payload of this run: `echolot <nonce> <label>`. */
  text(label: string): Buffer {
    return Buffer.from(`echolot ${this.nonce()} ${label}`, 'latin1');
  }

  /** Opens a socket for case `caseId`; it is watched until the run ends. */
  async open(caseId: string, options: LedgerSocketOptions): Promise<LedgerSocket> {
    if (this.finished) throw new Error('the run has ended: no more sockets');
    const client = await EchoClient.open(options);
    const socket = new LedgerSocket(this.sockets.length, caseId, options.family, client);
    this.sockets.push(socket);
    client.observe((o) => {
      if (o.kind === 'fault') socket.deliver({ kind: 'fault', fault: o.fault });
      else this.classify(socket, o.datagram);
    });
    return socket;
  }

  /** Sends `data` from `socket` and records the request (to the connected peer when `to` is omitted). */
  async send(
    socket: LedgerSocket,
    data: Uint8Array,
    to: Endpoint,
    options: {
      readonly expectFrom?: Endpoint;
      readonly expect?: Expectation;
      readonly connected?: boolean;
      readonly addressJudgedByCase?: boolean;
      /** Called with the request as soon as it is recorded, before the datagram leaves. */
      readonly onRecord?: (r: WireRequest) => void;
    } = {},
  ): Promise<WireRequest> {
    const request: WireRequest = {
      seq: this.sent.length,
      caseId: socket.caseId,
      socket,
      to,
      expectFrom: options.expectFrom ?? to,
      length: data.length,
      expect: options.expect ?? 'reply',
      addressJudgedByCase: options.addressJudgedByCase ?? false,
      sentAtNs: nowNs(),
      copies: 0,
      replyBytes: 0,
    };
    const key = keyOf(data);
    socket.sent++;
    const mine = socket.requests.get(key);
    if (mine) mine.push(request);
    else socket.requests.set(key, [request]);
    const tagged = nonceOf(data);
    if (tagged?.tag === this.tag) this.byNonce.set(tagged.nonce, request);
    else socket.sentUnnamed++;
    this.sent.push(request);
    this.destinations.add(endpointKey(to.address, to.port));
    this.destinations.add(endpointKey(request.expectFrom.address, request.expectFrom.port));
    this.counts.requests++;
    this.counts.bytesSent += data.length;
    options.onRecord?.(request);
    await socket.send(data, options.connected ? undefined : to);
    return request;
  }

  /** Marks that `requests` are no longer waited for: a first reply after now is late. */
  stopWaiting(requests: Iterable<WireRequest>): void {
    const now = nowNs();
    for (const r of requests) {
      r.waitEndedAtNs ??= now;
      const suspect = r.suspectedCopy;
      if (suspect && !suspect.resolved && r.copies === 0) {
        // Never answered: the copy on the other socket was its reply, sent to the wrong client.
        suspect.resolved = true;
        this.misdelivery(r, suspect.at, suspect.fromText, suspect.atNs);
      }
    }
  }

  /** Marks case `caseId` as ended: its requests are no longer waited for, later breaches amend it. */
  endCase(caseId: string): void {
    this.endedCases.add(caseId);
    this.stopWaiting(this.sent.filter((r) => r.caseId === caseId));
    for (const s of this.sockets) if (s.caseId === caseId) s.release();
  }

  /** The run's open socket bound to `address`:`port`, if any (an earlier case keeps it open). */
  heldSocket(address: string, port: number): LedgerSocket | undefined {
    const want = normalizeAddress(address);
    return this.sockets.find(
      (s) => !s.closed && s.local.port === port && normalizeAddress(s.local.address) === want,
    );
  }

  /** Calls `listener` with every breach recorded from now on. */
  onBreach(listener: (b: Breach) => void): void {
    this.listeners.push(listener);
  }

  /** Calls `listener` with every arrival from now on (the health monitor watches the target this way). */
  onArrival(listener: (a: Arrival) => void): void {
    this.arrivalListeners.push(listener);
  }

  /** The breaches of case `caseId` so far (the first MAX_KEPT_BREACHES) and how many there were in all. */
  breaches(caseId: string): { readonly list: readonly Breach[]; readonly total: number } {
    return this.byCase.get(caseId) ?? { list: [], total: 0 };
  }

  /** Every request so far, in sending order. */
  requests(): readonly WireRequest[] {
    return this.sent;
  }

  /** True while a request of the run still waits for its first reply (its socket open, sent in the last `withinMs`). */
  hasOutstanding(withinMs: number): boolean {
    const since = nowNs() - BigInt(Math.round(withinMs * 1e6));
    for (let i = this.sent.length - 1; i >= 0; i--) {
      const r = this.sent[i];
      if (!r || r.sentAtNs < since) return false;
      if (r.copies === 0 && r.expect !== 'silence' && !r.socket.closed) return true;
    }
    return false;
  }

  /** Sockets of the run still open (each holds a descriptor of this process). */
  openSockets(): number {
    return this.sockets.filter((s) => !s.closed).length;
  }

  /** True when the target echoed a request smaller than `length` bytes intact in this run. */
  echoedSmallerThan(length: number): boolean {
    return this.smallestIntact < length;
  }

  /** The largest request of the run whose reply came back intact (-1: none yet). */
  largestEchoed(): number {
    return this.largestIntact;
  }

  /** Records that a retry was answered after an earlier attempt of the same request got nothing. */
  noteAnsweredRetry(): void {
    this.answeredRetries++;
  }

  /** True once a retry was answered in this run: datagrams get lost between here and the target. */
  lossSeen(): boolean {
    return this.answeredRetries > 0;
  }

  /** The counts so far. */
  totals(): LedgerCounts {
    return { ...this.counts };
  }

  /** Closes one socket now (its port may go to any socket on the host); arrivals stop. */
  async closeSocket(socket: LedgerSocket): Promise<void> {
    socket.closed = true;
    socket.release();
    await socket.client.close();
  }

  /** Ends the run: after `lingerMs` of listening every socket is closed. */
  async finish(lingerMs: number): Promise<void> {
    if (lingerMs > 0) await new Promise((r) => setTimeout(r, lingerMs));
    this.stopWaiting(this.sent);
    this.finished = true;
    for (const s of this.sockets) s.release();
    await Promise.all(this.sockets.map((s) => s.client.close()));
  }

  /** Records `breach` and tells the listeners. */
  private breach(b: Omit<Breach, 'afterCase'>): Breach {
    const full: Breach = { ...b, afterCase: this.endedCases.has(b.caseId) };
    const entry = this.byCase.get(b.caseId) ?? { list: [], total: 0 };
    this.byCase.set(b.caseId, entry);
    entry.total++;
    if (entry.list.length < MAX_KEPT_BREACHES) entry.list.push(full);
    for (const l of this.listeners) l(full);
    return full;
  }

  /** Another socket's request of these bytes, sent before `atNs` and still without a reply. */
  private unansweredElsewhere(socket: LedgerSocket, key: string, atNs: bigint): WireRequest | undefined {
    for (const other of this.sockets) {
      if (other === socket || other.closed) continue;
      const match = other.requests
        .get(key)
        ?.find((r) => r.copies === 0 && r.sentAtNs < atNs && r.expect !== 'silence');
      if (match) return match;
    }
    return undefined;
  }

  /** A suspected copy that turned out to be a further copy of the other request's reply: its 'once' breach. */
  private resolveAsDuplicate(suspect: SuspectedCopy): Breach {
    suspect.resolved = true;
    const r = suspect.copyOf;
    r.copies++;
    this.counts.misdelivered--;
    this.counts.duplicates++;
    const afterMs = Number(suspect.atNs - (r.firstReplyAtNs ?? suspect.atNs)) / 1e6;
    return this.breach({
      clause: 'once',
      severity: 'MUST',
      caseId: r.caseId,
      message: `${r.copies} copies of the reply to one ${r.length}-byte request to ${formatEndpoint(r.to.address, r.to.port)}; copy ${r.copies} ${afterMs.toFixed(0)} ms after the first`,
      atNs: suspect.atNs,
      request: r.seq,
      evidence: { from: suspect.fromText, copies: r.copies, afterFirstMs: Math.round(afterMs) },
    });
  }

  /** The breach of a reply that reached another socket of the run than the one that sent its request. */
  private misdelivery(request: WireRequest, arrivedAt: LedgerSocket, fromText: string, atNs: bigint): Breach {
    return this.breach({
      clause: 'socket',
      severity: 'MUST',
      caseId: request.caseId,
      message: `the reply to a request from port ${request.socket.local.port} arrived at port ${arrivedAt.local.port} (from ${fromText})`,
      atNs,
      evidence: { from: fromText, sentFrom: request.socket.local.port, arrivedAt: arrivedAt.local.port },
    });
  }

  /** The request on `socket` (or any socket) whose payload these bytes are. */
  private matchOn(socket: LedgerSocket, key: string): WireRequest | undefined {
    const list = socket.requests.get(key);
    if (!list) return undefined;
    // The first request of these bytes still without a reply, else the last one (a further copy).
    return list.find((r) => r.copies === 0) ?? list[list.length - 1];
  }

  /** Classifies one datagram that reached `socket`, records what it breaks and hands it on. */
  private classify(socket: LedgerSocket, d: Datagram): void {
    const key = keyOf(d.data);
    const breaches: Breach[] = [];
    const from = { address: normalizeAddress(d.from.address), port: d.from.port };
    const fromText = formatEndpoint(from.address, from.port);
    let kind: ArrivalKind;
    let request = this.matchOn(socket, key);
    // A further copy of these bytes while another socket's request of the same bytes waits unanswered
    // is that request's reply, sent to the wrong client (a server that caches replies by payload).
    const elsewhere =
      request && request.copies > 0 ? this.unansweredElsewhere(socket, key, d.atNs) : undefined;
    if (elsewhere && request) {
      // Judged when that request's wait ends: a path may duplicate a reply while an identical request waits.
      elsewhere.suspectedCopy ??= { at: socket, fromText, atNs: d.atNs, copyOf: request, resolved: false };
      kind = 'misdelivered';
      request = elsewhere;
    } else if (request) {
      request.copies++;
      request.replyBytes += d.data.length;
      if (request.copies === 1 && request.suspectedCopy && !request.suspectedCopy.resolved) {
        // Answered after all: the copy on the other socket was a further copy of that socket's reply
        // (recorded against that request's case, not this arrival).
        this.resolveAsDuplicate(request.suspectedCopy);
      }
      if (request.copies === 1) {
        request.firstReplyAtNs = d.atNs;
        request.firstReplyBytes = d.data.length;
        this.smallestIntact = Math.min(this.smallestIntact, request.length);
        this.largestIntact = Math.max(this.largestIntact, request.length);
        kind = request.waitEndedAtNs !== undefined && d.atNs > request.waitEndedAtNs ? 'late' : 'reply';
      } else {
        kind = 'duplicate';
      }
      const expected = request.expectFrom;
      const where = `${request.length}-byte request to ${formatEndpoint(request.to.address, request.to.port)}`;
      if (request.expect === 'silence') {
        breaches.push(
          this.breach({
            clause: 'silence',
            severity: 'SHOULD',
            caseId: request.caseId,
            message: `answered a datagram that expects no reply (${where} from ${formatEndpoint(socket.local.address, socket.local.port)}), from ${fromText}`,
            atNs: d.atNs,
            evidence: { from: fromText, length: d.data.length },
          }),
        );
      } else if (from.port !== expected.port) {
        breaches.push(
          this.breach({
            clause: 'source-port',
            severity: 'MUST',
            caseId: request.caseId,
            message: `the reply to a ${where} came from port ${from.port}, not ${expected.port}`,
            atNs: d.atNs,
            evidence: { from: fromText, expected: formatEndpoint(expected.address, expected.port) },
          }),
        );
      } else if (!request.addressJudgedByCase && from.address !== normalizeAddress(expected.address)) {
        breaches.push(
          this.breach({
            clause: 'source-address',
            severity: 'SHOULD',
            caseId: request.caseId,
            message: `the reply to a ${where} came from ${from.address}, not ${normalizeAddress(expected.address)}`,
            atNs: d.atNs,
            evidence: { from: fromText, expected: formatEndpoint(expected.address, expected.port) },
          }),
        );
      }
      if (kind === 'duplicate' && request.expect !== 'silence') {
        const afterMs = Number(d.atNs - (request.firstReplyAtNs ?? d.atNs)) / 1e6;
        breaches.push(
          this.breach({
            clause: 'once',
            severity: 'MUST',
            caseId: request.caseId,
            message: `${request.copies} copies of the reply to one ${where}; copy ${request.copies} ${afterMs.toFixed(0)} ms after the first`,
            atNs: d.atNs,
            request: request.seq,
            evidence: { from: fromText, copies: request.copies, afterFirstMs: Math.round(afterMs) },
          }),
        );
      }
    } else {
      const tagged = nonceOf(d.data);
      const named = tagged?.tag === this.tag ? this.byNonce.get(tagged.nonce) : undefined;
      if (tagged && tagged.tag !== this.tag) {
        // Another run's datagram (a check side by side on this host whose port this socket got).
        kind = 'foreign';
      } else if (named && named.socket !== socket) {
        request = named;
        if (named.socket.closed && named.socket.local.port === socket.local.port) {
          // Its socket was closed on purpose and this one got the port: rightly addressed, not the target's fault.
          kind = 'stale';
        } else {
          kind = 'misdelivered';
          breaches.push(this.misdelivery(named, socket, fromText, d.atNs));
        }
      } else if (named) {
        // One of this socket's own requests, named by its nonce, with other bytes: a damaged reply.
        request = named;
        named.copies++;
        named.replyBytes += d.data.length;
        kind = named.copies === 1 ? 'damaged' : 'duplicate';
        if (named.copies === 1) {
          named.firstReplyAtNs = d.atNs;
          named.firstReplyBytes = d.data.length;
        }
        const waited = named.waitEndedAtNs === undefined && !socket.released;
        if (!waited || named.copies > 1) {
          breaches.push(
            this.breach({
              clause: named.copies > 1 ? 'once' : 'bytes',
              severity: 'MUST',
              caseId: named.caseId,
              message:
                named.copies > 1
                  ? `${named.copies} replies to one ${named.length}-byte request, the later one ${d.data.length} bytes`
                  : `a damaged reply (${d.data.length} bytes) to a ${named.length}-byte request to ${formatEndpoint(named.to.address, named.to.port)}, after its case stopped waiting`,
              atNs: d.atNs,
              request: named.seq,
              evidence: { from: fromText, sent: named.length, received: d.data.length },
            }),
          );
        }
      } else if (!this.destinations.has(endpointKey(from.address, from.port))) {
        kind = 'foreign';
      } else {
        kind = 'unmatched';
        // While one of this socket's requests waits, it may be that request's damaged reply: the case judges it.
        // A flood's socket takes what comes: its case counts replies and bytes, and the bytes of a reply
        // are the cases of sections 1-3's to judge (a zero-length flood's replies carry no nonce to name them).
        // More datagrams than it sent requests are unsolicited, though: those it breaches. So is a
        // datagram without a nonce on a socket whose every request carried one: even a damaged reply
        // that kept its head would have been named, so this one is damaged at its head or unasked
        // (a server that drops most of a flood and sends strays does not hide behind the drops).
        const flooding = [...socket.requests.values()].every((list) => list.every((r) => r.expect === 'any'));
        const judged = flooding
          ? socket.arrivals >= socket.sent /* this one not yet counted */ || socket.sentUnnamed === 0
          : socket.released || socket.waiting().length === 0;
        if (judged) {
          const unanswered = [...socket.requests.values()].some((list) =>
            list.some((r) => r.copies === 0 && r.expect !== 'silence'),
          );
          breaches.push(
            this.breach({
              clause: unanswered ? 'bytes' : 'unsolicited',
              severity: 'MUST',
              caseId: socket.caseId,
              message: unanswered
                ? `a ${d.data.length}-byte datagram from ${fromText} that matches none of the requests of its socket (port ${socket.local.port}): a damaged reply or an unsolicited datagram`
                : `an unsolicited ${d.data.length}-byte datagram from ${fromText} on a client socket (port ${socket.local.port}) whose requests were all answered`,
              atNs: d.atNs,
              evidence: { from: fromText, length: d.data.length, text: escapeBytes(d.data, 48) },
            }),
          );
        }
      }
    }
    this.count(kind, d.data.length);
    if (kind !== 'foreign' && kind !== 'stale') socket.arrivals++;
    const arrival: Arrival = { kind, datagram: d, socket, ...(request ? { request } : {}), breaches };
    for (const l of this.arrivalListeners) l(arrival);
    socket.deliver({ kind: 'arrival', arrival });
  }

  private count(kind: ArrivalKind, bytes: number): void {
    const c = this.counts;
    if (kind === 'foreign') {
      c.foreign++;
      return;
    }
    c.bytesReceived += bytes;
    if (kind === 'reply') c.replies++;
    else if (kind === 'late') {
      c.replies++;
      c.late++;
    } else if (kind === 'duplicate') c.duplicates++;
    else if (kind === 'misdelivered') c.misdelivered++;
    else if (kind === 'stale') c.stale++;
    else if (kind === 'damaged') c.replies++;
    else c.unmatched++;
  }
}
