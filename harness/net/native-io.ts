/**
 * The optional native datagram I/O module (C in native/, built by node-gyp during `npm ci`): batched
 * recvmmsg/sendmmsg with IP_PKTINFO. Together with echo-client.ts this is the only code that touches
 * sockets; when the module is missing, or ECHOLOT_IO=dgram forces it, everything runs on node:dgram.
 */
import { createRequire } from 'node:module';
import { HarnessError } from '../errors.js';

/** Which datagram I/O path runs: the native module or node:dgram. */
export type IoPath = 'native' | 'dgram';

/** Receives one batch (client sockets: the count) or one error name (errno string). */
export type NativeEventHandler = (countOrKind: number | string, errno?: string) => void;

/** One UDP socket owned by the native module. */
export interface NativeSocket {
  /** Binds; returns the bound port. Throws an Error whose `code` is the errno name. */
  bind(address: string, port: number): number;
  /** Connects to a peer (client sockets). */
  connect(address: string, port: number): void;
  /** [address, port] of the socket. */
  local(): [string, number];
  /** Sets (bytes >= 0) and returns SO_RCVBUF (which 0) or SO_SNDBUF (which 1). */
  bufferSize(which: 0 | 1, bytes: number): number;
  /**
   * Echo mode: starts echoing in C with this refused-port table, stats array and send-queue bound; with
   * `loopGuard`, datagrams that continue an echo loop are dropped (reference-server/loop-guard.ts).
   * With `threaded` and no policy set, a thread of its own answers the socket (native/echo_thread.c)
   * instead of this thread's loop. Returns whether the loop guard runs (a module built before it
   * returns undefined).
   */
  startEcho(
    refused: Uint8Array,
    stats: Float64Array,
    queueMax: number,
    loopGuard: boolean,
    threaded?: boolean,
  ): boolean | undefined;
  /** Echo mode: answer only these destinations ([family, 16 address bytes, scope id]); null = any. */
  setFilter(list: readonly (readonly [4 | 6, Uint8Array, number])[] | null): void;
  /** Echo mode: fn(count) once per batch; it may set shared().verdict[i] = 1 to drop datagram i. */
  setPolicy(fn: ((count: number) => void) | null): void;
  /** Client mode: starts receiving; returns the send arena and its per-slot lengths. */
  startClient(slots: number, slotSize: number, queueMax: number): [ArrayBuffer, Int32Array];
  /**
   * Client mode, instead of startClient: probes of this run id and flow are encoded and validated in C,
   * and replies arrive through the thread's probe group (NativeModule.probeGroup, called first) under the
   * returned member index. Returns the send arena, its per-slot lengths, the send rows (4 per slot: seq,
   * intended ns, actual ns, unused) that send() encodes from, and the member index. With a `tally`, every
   * probe sent and every reply is accounted in C (NativeTallyHandle) and no rows reach JavaScript (only
   * the socket's errors, as segments without rows).
   */
  startProbeClient(
    slots: number,
    slotSize: number,
    queueMax: number,
    runId: Uint8Array,
    flow: number,
    tally?: NativeTallyHandle,
  ): [ArrayBuffer, Int32Array, Float64Array, number];
  /**
   * Probe client, window mode (flood, ping-pong): from now on C keeps `window` probes outstanding until
   * `endNs` (sequence numbers from 0, sizes by sequence number round-robin): each reply frees its slot and
   * the slots are refilled as soon as the socket is drained; each run of new probes shows in the rows as
   * a PROBE_ROW_SENT row (status, count, first sequence, send time). Times on the caller's clock:
   * uv_hrtime + `clockOffsetNs`. windowTick() sends the first window.
   */
  startWindow(
    window: number,
    expireNs: number,
    endNs: number,
    clockOffsetNs: number,
    sizes: readonly number[],
  ): void;
  /**
   * Window mode: frees the slots of probes unanswered for `expireNs` and tops the window up. Returns how
   * many new probes were sent (from the next sequence number on), their send time, and the first hard
   * send errno name, if any.
   */
  windowTick(): [number, number, string | undefined];
  /** Client mode: sends arena slots 0..count-1; returns the first hard errno name, if any. */
  send(count: number): string | undefined;
  /** Datagrams waiting for the socket to turn writable. */
  queued(): number;
  /** Stops polling and closes the descriptor; idempotent. */
  close(): void;
}

/**
 * The accounting of one share of a load run in C: per probe sent and per reply, exactly what
 * harness/load/accounting.ts computes from rows (counters, per-sequence state, latency histograms by
 * hdr-histogram-js's counts index, the interval series), read by JavaScript per interval.
 */
export interface NativeTallyHandle {
  /** Probes intended in [startNs, endNs) (the caller's clock) are the measurement. */
  measure(startNs: number, endNs: number): void;
  /** TALLY_LIVE numbers, current at any time (the array stays the same). */
  live(): Float64Array;
  /**
   * What was counted since the last collect, as records (TALLY_RECORD): `hist` [kind, which (TALLY_HIST),
   * bucket, n, lo, hi, sum, sumSq, pairs, (counts index, count) x pairs] with the new counts, and the
   * moments as running totals (for the series: since the last collect); `series` [kind, bucket, sent,
   * received, unique] since the last collect; `flow` [kind, flow id, TALLY_FLOW.length numbers], running.
   */
  collect(): Float64Array;
}

/**
 * Probe clients of one Tally on a native thread: it waits on their sockets, accounts each reply in the
 * Tally and, in window mode (flood, ping-pong), refills the window without waking this thread's loop and
 * expires unanswered probes; in rate mode it sends the probes JavaScript scheduled, each at its intended
 * time. The Tally's collect() and measure() stay callable while it runs.
 */
export interface NativePlaneHandle {
  /** Adds a socket in window mode (startWindow) whose accounting is the plane's Tally; before start(). */
  add(socket: NativeSocket): void;
  /** Starts the thread, which sends the first windows. Once. */
  start(): void;
  /** Sending ends at `endNs` (the sockets' clock) if that is earlier than their end: a run cut short. */
  setEnd(endNs: number): void;
  /**
   * Rate mode, before add(): returns the ring of scheduled sends, `capacity` entries of PLANE_RING_STRIDE
   * numbers (member in add() order, sequence number, intended send time on the sockets' clock, length);
   * entry k goes at k % capacity, in order of intended time. The thread sends each at its time.
   */
  startRate(capacity: number): Float64Array;
  /**
   * Rate mode with constant arrivals, before add(), instead of startRate: the thread computes the schedule
   * itself, slot k intended at `t0Ns + k * periodNs` (the sockets' clock) until `endNs`, round-robin over
   * the members in add() order, each member's sequence numbers from 0, sequence number q `sizes[q %
   * sizes.length]` bytes long. push(0) then returns the slots before the end not sent yet.
   */
  startConstant(t0Ns: number, periodNs: number, endNs: number, sizes: readonly number[]): void;
  /** Hands the next `count` ring entries to the thread; returns the entries not sent yet. */
  push(count: number): number;
  /**
   * What the sockets reported since the last call: [member (add() order), errno, count] triples; a member
   * of -1 counts errors that did not fit.
   */
  errors(): Float64Array;
  /** Ends the thread and hands the sockets back to this thread's loop (which drains them). Idempotent. */
  stop(): void;
  /**
   * Once stopped: the thread's wall time, its CPU time, and the time it spent working (reading,
   * accounting, sending; not sleeping, nor polling for a close send), ns.
   */
  usage(): [number, number, number];
}

/** Numbers per entry of NativePlaneHandle.startRate's ring. */
export const PLANE_RING_STRIDE = 4;

/** Record kinds of NativeTallyHandle.collect(). */
export const TALLY_RECORD = Object.freeze({ hist: 1, series: 2, flow: 3 });

/** Histograms in the `hist` records of NativeTallyHandle.collect(). */
export const TALLY_HIST = Object.freeze({ response: 0, service: 1, sendLag: 2, series: 3 });

/** A flow's numbers in the `flow` records of NativeTallyHandle.collect(), in order. */
export const TALLY_FLOW = Object.freeze([
  'sent',
  'received',
  'unique',
  'late',
  'duplicates',
  'reordered',
  'reorderExtentMax',
  'corrupted',
  'truncated',
  'foreign',
  'jitterNs',
  'jitterSamples',
] as const);

/** NativeTallyHandle.live(): measured probes unanswered, the last first answer's time, measured probes due when sent. */
export const TALLY_LIVE = Object.freeze({ outstanding: 0, lastAnswerNs: 1, zeroLags: 2 });

/** Views of the receive arena shared by every native socket of this thread; valid during a callback only. */
export interface NativeShared {
  /** BATCH slots of `slot` bytes: datagram i starts at i * slot. */
  readonly data: ArrayBuffer;
  /** metaStride ints per datagram: length, source port, family (4/6), interface index. */
  readonly meta: Int32Array;
  /** 16 bytes per datagram: source address (IPv4 in the first 4). */
  readonly src: Uint8Array;
  /** 16 bytes per datagram: destination address, from IP_PKTINFO / IPV6_PKTINFO. */
  readonly dst: Uint8Array;
  /** Receive time per datagram, ns (uv_hrtime clock). */
  readonly ts: Float64Array;
  /** Echo-mode policy verdicts: 1 = drop. */
  readonly verdict: Uint8Array;
  readonly batch: number;
  readonly slot: number;
  readonly metaStride: number;
}

/** The module's exports. */
export interface NativeModule {
  /** A new socket; with `fd`, adopts that inherited, already bound descriptor (socket activation) instead. */
  readonly Socket: new (family: 4 | 6, mode: 0 | 1, onEvent: NativeEventHandler, fd?: number) => NativeSocket;
  /** Binds a throwaway socket to address:0: undefined when the address is local, else the errno name. */
  probeBind(family: 4 | 6, address: string): string | undefined;
  /** uv_hrtime() in ns, the clock of shared().ts. */
  hrtime(): number;
  /**
   * The probe group of this thread: every probe client's socket in one epoll set, one wake-up and one
   * call of `onSegments(count)` for all of them. Returns the receive rows (PROBE_ROW_STRIDE numbers per
   * datagram: status, flow, seq, intended ns, actual ns, receive ns on the uv_hrtime clock) and the
   * segments (PROBE_SEGMENT_STRIDE numbers each: member index, rows, errno): segment k's rows follow
   * segment k-1's from row 0; a nonzero errno is an error its socket reported. Calling it again replaces
   * the handler.
   */
  probeGroup(onSegments: (count: number) => void): [Float64Array, Int32Array];
  /**
   * A load share's accounting in C (see NativeTallyHandle), handed to startProbeClient; times on the
   * caller's clock, uv_hrtime + `clockOffsetNs`.
   */
  readonly Tally: new (
    intervalNs: number,
    lateBoundNs: number,
    keepNs: number,
    closedLoop: boolean,
    clockOffsetNs: number,
  ) => NativeTallyHandle;
  /**
   * A data plane: window-mode probe clients of one Tally driven by a thread of their own instead of
   * this thread's loop (see NativePlaneHandle).
   */
  readonly Plane: new (tally: NativeTallyHandle) => NativePlaneHandle;
  /**
   * `values` (us) recorded as a Tally records latencies into a histogram of `digits` significant digits:
   * [n, lo, hi, sum, sumSq, (counts index, count)...] (the C histogram, for tests).
   */
  latencyCounts(digits: number, values: Float64Array): Float64Array;
  shared(): NativeShared;
}

/** Indices of the echo-mode stats array. */
export const NATIVE_STAT = Object.freeze({
  received: 0,
  echoed: 1,
  droppedByPolicy: 2,
  droppedQueueFull: 3,
  errors: 4,
  bytesIn: 5,
  bytesOut: 6,
  queued: 7,
  /** Breakdown of droppedByPolicy decided in C; the rest were dropped by the JavaScript policy. */
  droppedLoopPort: 8,
  droppedOwnPort: 9,
  /** Broadcast, multicast or unserved destination (wildcard sockets only). */
  droppedDestination: 10,
  /** Dropped by the loop guard. */
  droppedEchoLoop: 11,
  length: 12,
});

/** Numbers per received datagram in the receive rows of probeGroup(). */
export const PROBE_ROW_STRIDE = 6;

/** Status of a probe row that reports sent probes (window mode): count, first sequence, send time. */
export const PROBE_ROW_SENT = 6;

/** Numbers per segment of probeGroup(): member index, rows, errno. */
export const PROBE_SEGMENT_STRIDE = 3;

/** Row statuses of probeGroup()'s rows, the verdicts of decodeProbe(); the `*Header` ones carry the header fields. */
export const PROBE_STATUS = Object.freeze({
  probe: 0,
  foreign: 1,
  truncated: 2,
  corrupted: 3,
  truncatedHeader: 4,
  corruptedHeader: 5,
});

/** The environment variable that selects the I/O path: 'dgram' forces the fallback, 'native' requires the module. */
export const IO_ENV = 'ECHOLOT_IO';

interface Loaded {
  readonly module: NativeModule | undefined;
  /** Why the native module is not used, when it is not. */
  readonly reason: string;
}

let loaded: Loaded | undefined;

function load(): Loaded {
  const wanted = process.env[IO_ENV];
  if (wanted !== undefined && wanted !== '' && wanted !== 'dgram' && wanted !== 'native') {
    throw new HarnessError('ERR_ECHOLOT_USAGE', `${IO_ENV}=${wanted}: must be 'native' or 'dgram'`);
  }
  if (wanted === 'dgram') return { module: undefined, reason: `forced by ${IO_ENV}=dgram` };
  try {
    // dist/harness/net/native-io.js -> <package>/build/Release/echolot_io.node
    const require = createRequire(import.meta.url);
    const module = require('../../../build/Release/echolot_io.node') as NativeModule;
    return { module, reason: '' };
  } catch (err) {
    const why = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    if (wanted === 'native') {
      throw new HarnessError(
        'ERR_ECHOLOT_INTERNAL',
        `${IO_ENV}=native but the native I/O module cannot be loaded (${why}); build it with npm run build:native`,
        { cause: err },
      );
    }
    return { module: undefined, reason: `native module not built (${why})` };
  }
}

/** The native module, or undefined when the fallback runs (not built, not Linux, or ECHOLOT_IO=dgram). */
export function nativeIo(): NativeModule | undefined {
  loaded ??= load();
  return loaded.module;
}

/** The I/O path this process uses. */
export function ioPath(): IoPath {
  return nativeIo() === undefined ? 'dgram' : 'native';
}

/** One line for `echolot --version` and reports: the path and, for the fallback, why. */
export function ioDescription(): string {
  const module = nativeIo();
  return module !== undefined
    ? 'native (recvmmsg/sendmmsg batches with IP_PKTINFO, one JavaScript call per batch)'
    : `dgram (node:dgram, one call per datagram; ${loaded?.reason ?? ''})`;
}

/** An Error with an errno `code`, as node:dgram would raise it. */
export function errnoError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}
