/** A connected client socket on the native I/O module: batched receive, sends written in place and flushed in one sendmmsg. */
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Family } from '../protocol/constants.js';
import {
  nativeIo,
  PLANE_RING_STRIDE,
  PROBE_SEGMENT_STRIDE,
  type NativeModule,
  type NativePlaneHandle,
  type NativeShared,
  type NativeSocket,
  type NativeTallyHandle,
} from './native-io.js';

/** Receives one datagram: a view valid only during the call, and its receive time (ns, performance.now() clock). */
export type NativeDataHandler = (data: Buffer, atNs: number) => void;

/** Receives an ICMP error reported on the connected socket, or a send error (errno name). */
export type NativeFaultHandler = (errno: string) => void;

/**
 * Receives one batch of probe rows (probe mode): `count` rows of PROBE_ROW_STRIDE numbers in `rows` from row
 * `start` on, valid only during the call; add `offsetNs` to a row's receive time to put it on
 * performance.now()'s clock.
 */
export type NativeProbeHandler = (rows: Float64Array, start: number, count: number, offsetNs: number) => void;

/**
 * Probe mode: the probes of this run id and flow are encoded and checked in C, and every probe client of
 * the thread is polled together (NativeModule.probeGroup): one wake-up and one JavaScript call for all.
 */
export interface NativeProbeOptions {
  readonly runId: Uint8Array;
  readonly flow: number;
  readonly onRows: NativeProbeHandler;
  /** Accounting in C (openNativeTally): the probes and replies are counted there, and onRows is not called. */
  readonly tally?: NativeTallyHandle;
}

/** How to open a native client. */
export interface NativeClientOptions {
  readonly family: Family;
  readonly connect: { readonly address: string; readonly port: number };
  /** Largest datagram this client sends (the send arena's slot size). */
  readonly maxSend: number;
  /** SO_RCVBUF in bytes. */
  readonly recvBufferBytes?: number;
  /** Bytes of send arena (slots = this / maxSend, 4..256). @defaultValue 2 MiB */
  readonly arenaBytes?: number;
  /** Probe mode instead of raw datagrams: replies arrive as rows, sends go through sendProbe(). */
  readonly probes?: NativeProbeOptions;
}

/** Datagrams that may wait for a full send buffer before further sends count as ENOBUFS. */
const SEND_QUEUE_MAX = 4096;

/** Errno names by number, for the errors the probe group reports as numbers. */
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** performance.now() in ns minus uv_hrtime in ns: the two tick on the same monotonic clock, from other origins. */
function clockOffsetNs(native: NativeModule): number {
  return performance.now() * 1e6 - native.hrtime();
}

/** This thread's probe group (see NativeModule.probeGroup): its clients by member index, and its clock offset. */
interface ProbeGroup {
  readonly members: (NativeClient | undefined)[];
  readonly offsetNs: number;
}

let probeGroup: ProbeGroup | undefined;

/** Sets up this thread's probe group once: one handler that hands each segment to its client. */
function probeGroupOf(native: NativeModule): ProbeGroup {
  if (probeGroup !== undefined) return probeGroup;
  const members: (NativeClient | undefined)[] = [];
  const offsetNs = clockOffsetNs(native);
  const [rows, segments] = native.probeGroup((count) => {
    for (let k = 0, o = 0, start = 0; k < count; k++, o += PROBE_SEGMENT_STRIDE) {
      const client = members[segments[o] as number];
      const n = segments[o + 1] as number;
      const errno = segments[o + 2] as number;
      if (client !== undefined) {
        if (n > 0) client.rowsIn(rows, start, n, offsetNs);
        if (errno !== 0) client.faultIn(ERRNO_NAMES.get(errno) ?? `E${errno}`);
      }
      start += n;
    }
  });
  probeGroup = { members, offsetNs };
  return probeGroup;
}

/**
 * A load share's accounting in C (NativeModule.Tally) on this thread's probe-group clock (performance.now()
 * in ns, like the rows' offset), or undefined when the native module is not in use.
 */
export function openNativeTally(
  intervalNs: number,
  lateBoundNs: number,
  keepNs: number,
  closedLoop: boolean,
): NativeTallyHandle | undefined {
  const native = nativeIo();
  if (native === undefined) return undefined;
  return new native.Tally(intervalNs, lateBoundNs, keepNs, closedLoop, probeGroupOf(native).offsetNs);
}

/**
 * One connected UDP socket on the native module. Datagrams arrive in batches (one JavaScript call per
 * batch); sends are encoded straight into the send arena (`slot()`, then `commit(length)`) and flushed
 * together at the end of the current job, or at once when the arena is full.
 */
export class NativeClient {
  private readonly slots: Buffer[];
  private readonly lengths: Int32Array;
  /** Probe mode: 4 numbers per send slot (seq, intended ns, actual ns), encoded by C at flush. */
  private sendRows: Float64Array | undefined;
  private count = 0;
  private scheduled = false;
  private closed = false;
  private onFault: NativeFaultHandler = () => undefined;
  /** Probe mode: the rows handler, the thread's probe group and this client's index in it. */
  private onRows: NativeProbeHandler | undefined;
  private group: ProbeGroup | undefined;
  private member = -1;
  private readonly flushNow = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private constructor(
    private readonly socket: NativeSocket,
    arena: ArrayBuffer,
    lengths: Int32Array,
    slotSize: number,
  ) {
    this.lengths = lengths;
    this.slots = Array.from({ length: lengths.length }, (_, i) => Buffer.from(arena, i * slotSize, slotSize));
  }

  /** Opens a connected client, or returns undefined when the native module is not in use. */
  static open(options: NativeClientOptions, onData: NativeDataHandler): NativeClient | undefined {
    const native = nativeIo();
    if (native === undefined) return undefined;
    const probes = options.probes;
    let client: NativeClient | undefined;
    let onEvent: (what: number | string) => void = () => undefined;
    if (probes === undefined) {
      const shared: NativeShared = native.shared();
      const offsetNs = clockOffsetNs(native);
      const stride = shared.metaStride;
      const slot = shared.slot;
      const data = Buffer.from(shared.data);
      const { meta, ts } = shared;
      onEvent = (what) => {
        if (typeof what === 'string') {
          client?.onFault(what);
          return;
        }
        for (let i = 0; i < what; i++) {
          const at = i * slot;
          onData(data.subarray(at, at + (meta[i * stride] ?? 0)), (ts[i] ?? 0) + offsetNs);
        }
      };
    }
    const socket = new native.Socket(options.family === 'IPv4' ? 4 : 6, 1, onEvent);
    try {
      socket.bind(options.family === 'IPv4' ? '0.0.0.0' : '::', 0);
      if (options.recvBufferBytes !== undefined) socket.bufferSize(0, options.recvBufferBytes);
      socket.connect(options.connect.address, options.connect.port);
      const slotSize = Math.max(1, options.maxSend);
      const n = Math.max(4, Math.min(256, Math.floor((options.arenaBytes ?? 1 << 21) / slotSize)));
      if (probes === undefined) {
        const [arena, lengths] = socket.startClient(n, slotSize, SEND_QUEUE_MAX);
        client = new NativeClient(socket, arena, lengths, slotSize);
        return client;
      }
      const group = probeGroupOf(native);
      const [arena, lengths, sendRows, member] = socket.startProbeClient(
        n,
        slotSize,
        SEND_QUEUE_MAX,
        probes.runId,
        probes.flow,
        probes.tally,
      );
      client = new NativeClient(socket, arena, lengths, slotSize);
      client.sendRows = sendRows;
      client.onRows = probes.onRows;
      client.group = group;
      client.member = member;
      group.members[member] = client;
      return client;
    } catch (err) {
      socket.close();
      throw err;
    }
  }

  /** Probe group: a batch of this client's rows. */
  rowsIn(rows: Float64Array, start: number, count: number, offsetNs: number): void {
    if (!this.closed) this.onRows?.(rows, start, count, offsetNs);
  }

  /**
   * Probe mode: C runs the closed loop from now on, keeping `window` probes outstanding until `endNs`
   * (times on performance.now()'s clock, ns); see NativeSocket.startWindow. windowTick() sends the first
   * window; sent probes show in the rows as PROBE_ROW_SENT rows.
   */
  startWindow(window: number, expireNs: number, endNs: number, sizes: readonly number[]): void {
    this.socket.startWindow(window, expireNs, endNs, this.group?.offsetNs ?? 0, sizes);
  }

  /**
   * Window mode: expires probes unanswered for too long and tops the window up. Returns how many probes
   * were sent and when (ns, performance.now()'s clock); a send error goes to the fault handler.
   */
  windowTick(): { sent: number; atNs: number } {
    const [sent, atNs, err] = this.socket.windowTick();
    if (err !== undefined) this.onFault(err);
    return { sent, atNs };
  }

  /** Adds this client, in window mode, to a data plane (see NativePlane). */
  joinPlane(plane: NativePlaneHandle): void {
    plane.add(this.socket);
  }

  /** Probe group: an error this client's socket reported (an ICMP report on the connected socket). */
  faultIn(errno: string): void {
    if (!this.closed) this.onFault(errno);
  }

  /** Where faults go (ICMP errors on the connected socket, send errors). */
  onFaults(handler: NativeFaultHandler): void {
    this.onFault = handler;
  }

  /** The local address and port. */
  local(): { address: string; port: number } {
    const [address, port] = this.socket.local();
    return { address, port };
  }

  /** The next free send slot (flushing first when the arena is full); fill it, then commit(length). */
  slot(): Buffer {
    if (this.count === this.slots.length) this.flush();
    return this.slots[this.count] as Buffer;
  }

  /** Queues the slot returned by slot() with this length; the batch goes out at the end of the current job. */
  commit(length: number): void {
    this.lengths[this.count++] = length;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  /**
   * Probe mode: queues probe `seq` of `length` bytes with these send times; C encodes it (header, checksum,
   * filler) into its slot when the batch is flushed, at the end of the current job.
   */
  sendProbe(seq: number, intendedNs: number, actualNs: number, length: number): void {
    if (this.count === this.slots.length) this.flush();
    const i = this.count++;
    const r = this.sendRows as Float64Array;
    r[i * 4] = seq;
    r[i * 4 + 1] = intendedNs;
    r[i * 4 + 2] = actualNs;
    this.lengths[i] = length;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  /** Sends every committed slot now (one sendmmsg); a send error goes to the fault handler. */
  flush(): void {
    const n = this.count;
    if (n === 0 || this.closed) return;
    this.count = 0;
    const err = this.socket.send(n);
    if (err !== undefined) this.onFault(err);
  }

  /** Committed datagrams not yet flushed, plus those waiting for the socket to turn writable. */
  get pending(): number {
    return this.closed ? 0 : this.count + this.socket.queued();
  }

  /** SO_RCVBUF as the kernel reports it. */
  receiveBufferSize(): number {
    return this.socket.bufferSize(0, -1);
  }

  /** Closes the socket; idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.socket.close();
      if (this.group?.members[this.member] === this) this.group.members[this.member] = undefined;
    }
    return Promise.resolve();
  }
}

/** How busy a data plane's thread was (NativePlane.stop()): shares of its life, 0..1. */
export interface PlaneUsage {
  readonly busy: number;
  readonly poll: number;
}

/**
 * A constant-rate schedule the data-plane thread computes itself: slot k at `t0Ns + k * periodNs`
 * (performance.now()'s clock, ns) until `endNs`, round-robin over the clients, each client's sequence
 * numbers from 0 on, sequence number q `sizes[q % sizes.length]` bytes long.
 */
export interface ConstantSchedule {
  readonly t0Ns: number;
  readonly periodNs: number;
  readonly endNs: number;
  readonly sizes: readonly number[];
}

/**
 * Probe clients of one Tally on a native thread of their own (NativePlaneHandle): replies are read and
 * accounted there, and in window mode answered with new probes, without a wake-up of this thread's loop;
 * in rate mode the thread sends the scheduled probes written into its ring (schedule()), or those of
 * the constant schedule it computes itself, each at its intended time. What the sockets report
 * reaches each client's fault handler at poll() and stop().
 */
export class NativePlane {
  /** Rate mode: entries handed to the thread so far, those of them not sent yet, and those written since. */
  private written = 0;
  private pending = 0;
  private unflushed = 0;

  private constructor(
    private readonly plane: NativePlaneHandle,
    private readonly members: readonly NativeClient[],
    private readonly ring: Float64Array | undefined,
  ) {}

  /**
   * Starts a plane for these clients, accounted in `tally`: in window mode (each started with
   * startWindow); with a capacity, in rate mode with a ring of that many scheduled sends (schedule(),
   * flush()); with a ConstantSchedule, in rate mode on the schedule the thread computes itself.
   * Undefined without the native module.
   */
  static start(
    tally: NativeTallyHandle,
    clients: readonly NativeClient[],
    rate?: number | ConstantSchedule,
  ): NativePlane | undefined {
    const native = nativeIo();
    if (native === undefined) return undefined;
    const plane = new native.Plane(tally);
    let ring: Float64Array | undefined;
    if (typeof rate === 'number') ring = plane.startRate(rate);
    else if (rate !== undefined) plane.startConstant(rate.t0Ns, rate.periodNs, rate.endNs, rate.sizes);
    for (const c of clients) c.joinPlane(plane);
    plane.start();
    return new NativePlane(plane, clients, ring);
  }

  /** Rate mode: ring entries free for schedule(). */
  get free(): number {
    return this.ring === undefined ? 0 : this.ring.length / PLANE_RING_STRIDE - this.pending - this.unflushed;
  }

  /** Rate mode: scheduled sends the thread has not sent yet (as of the last schedule() or flush()). */
  get unsent(): number {
    return this.pending;
  }

  /**
   * Rate mode: writes one scheduled send (member index in the clients' order, sequence number, intended
   * time on performance.now()'s clock in ns, length); flush() hands the written ones over. Needs free > 0.
   */
  schedule(member: number, seq: number, intendedNs: number, length: number): void {
    const ring = this.ring as Float64Array;
    const o = ((this.written + this.unflushed) % (ring.length / PLANE_RING_STRIDE)) * PLANE_RING_STRIDE;
    ring[o] = member;
    ring[o + 1] = seq;
    ring[o + 2] = intendedNs;
    ring[o + 3] = length;
    this.unflushed++;
  }

  /**
   * Rate mode: hands the scheduled sends written since the last call to the thread (none on a computed
   * schedule); updates unsent.
   */
  flush(): void {
    const n = this.unflushed;
    this.pending = this.plane.push(n);
    this.written += n;
    this.unflushed = 0;
  }

  /** Hands what the sockets reported since the last call to their clients' fault handlers, once per report. */
  poll(): void {
    const e = this.plane.errors();
    for (let i = 0; i < e.length; i += 3) {
      const member = e[i] as number;
      const errno = ERRNO_NAMES.get(e[i + 1] as number) ?? `E${e[i + 1]}`;
      // Reports beyond the kinds kept per socket (rare: five kinds of error in one poll) go to the first client.
      const client = this.members[member < 0 ? 0 : member];
      for (let k = 0; k < (e[i + 2] as number); k++) client?.faultIn(member < 0 ? 'EOVERFLOW' : errno);
    }
  }

  /** Sending ends at `endNs` (performance.now()'s clock, ns) if that is earlier: a run cut short. */
  cut(endNs: number): void {
    this.plane.setEnd(endNs);
  }

  /**
   * Ends the thread (the clients go back to this thread's loop) and hands over the last reports; returns
   * the thread's utilisation: `busy`, the share of its life it spent working (reading, accounting,
   * sending), and `poll`, the share of its CPU time beyond that (polling for a close send).
   */
  stop(): PlaneUsage {
    this.plane.stop();
    this.poll();
    const [wallNs, cpuNs, workNs] = this.plane.usage();
    const wall = Math.max(1, wallNs);
    // CPU time that was not work was spent polling for a close send.
    return { busy: Math.min(1, workNs / wall), poll: Math.min(1, Math.max(0, cpuNs - workNs) / wall) };
  }
}
