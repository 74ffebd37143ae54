/**
 * A flow: one client socket on its own ephemeral port, connected to the target. On the native I/O module
 * (batched recvmmsg/sendmmsg) when it is in use, else an EchoClient on node:dgram with reusable send buffers.
 */
import { EchoClient } from '../net/echo-client.js';
import { NativeClient } from '../net/native-client.js';
import { ioPath, PROBE_STATUS, type IoPath, type NativeTallyHandle } from '../net/native-io.js';
import type { Family } from '../protocol/constants.js';
import { decodeProbe, encodeProbe, type ProbeDecode } from '../protocol/probe-codec.js';
import { clockNs } from './clock.js';
import type { LoadInternals } from './options.js';
import type { Arrival, LoadMode } from './types.js';
import { FlowCounters } from './counters.js';

/** Errnos that a connected UDP socket reports for ICMP errors. */
const ICMP_ERRNOS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EPROTO',
]);

/** Bytes of send buffers kept per flow and size (the ring length follows from it). */
const RING_BYTES = 1 << 21;

/**
 * What a flow does with each reply, decoded (in C on the native path, by decodeProbe on node:dgram) to
 * plain numbers so that the hot path allocates nothing: `status` is a PROBE_STATUS value; `probeFlow`,
 * `seq`, `intendedNs` and `actualNs` are the header's fields (meaningful for `probe` and the `*Header`
 * statuses); `atNs` is the receive time on clockNs()'s clock. Set by the engine.
 */
export type ReplySink = (
  flow: Flow,
  status: number,
  probeFlow: number,
  seq: number,
  intendedNs: number,
  actualNs: number,
  atNs: number,
) => void;

/**
 * What a flow does with one batch of native receive rows: `count` rows from row `start` on,
 * PROBE_ROW_STRIDE numbers per reply (the fields of ReplySink; add `offsetNs` to a receive time for
 * clockNs()'s clock). Set by the engine.
 */
export type BatchSink = (
  flow: Flow,
  rows: Float64Array,
  start: number,
  count: number,
  offsetNs: number,
) => void;

/**
 * The engine's reply handlers: per reply (node:dgram) and per batch of rows (native path); with a
 * `tally`, native flows are accounted in C instead and `batch` is not called.
 */
export interface ReplySinks {
  readonly one: ReplySink;
  readonly batch: BatchSink;
  readonly tally?: NativeTallyHandle | undefined;
}

/** Passes one decodeProbe() verdict to the sink as numbers (the node:dgram path). */
function sinkDecoded(sink: ReplySink, flow: Flow, d: ProbeDecode, atNs: number): void {
  if (d.kind === 'foreign') {
    sink(flow, PROBE_STATUS.foreign, 0, 0, 0, 0, atNs);
    return;
  }
  const p = d.kind === 'probe' ? d : d.probe;
  sink(flow, probeStatusOf(d), p?.flow ?? 0, p?.seq ?? 0, p?.intendedNs ?? 0, p?.actualNs ?? 0, atNs);
}

/** decodeProbe's verdict as the status code of a native receive row (the two paths report alike). */
export function probeStatusOf(d: ProbeDecode): number {
  if (d.kind === 'foreign') return PROBE_STATUS.foreign;
  if (d.kind === 'probe') return PROBE_STATUS.probe;
  const header = d.probe !== undefined;
  if (d.kind === 'truncated') return header ? PROBE_STATUS.truncatedHeader : PROBE_STATUS.truncated;
  return header ? PROBE_STATUS.corruptedHeader : PROBE_STATUS.corrupted;
}

/** How to open the flows. */
export interface FlowSetup {
  readonly family: Family;
  readonly address: string;
  readonly port: number;
  readonly sizes: readonly number[];
  readonly runId: Uint8Array;
  readonly rcvbufBytes?: number;
}

/** One client socket and its counters. */
export class Flow {
  readonly counters = new FlowCounters();
  /** Next sequence number of this flow. */
  nextSeq = 0;
  /** Probes in flight (window modes). */
  inflight = 0;
  /** Outstanding probes in send order (window modes), for expiry. */
  readonly pendingSeq: number[] = [];
  readonly pendingAtNs: number[] = [];
  pendingHead = 0;

  private readonly rings: Buffer[][];
  private sendsIssued = 0;
  private sendsDone = 0;
  private readonly onSent: (err: Error | null) => void;

  private constructor(
    readonly id: number,
    /** The socket: a NativeClient on the native path, an EchoClient on node:dgram. */
    readonly client: EchoClient | NativeClient,
    readonly port: number,
    private readonly setup: FlowSetup,
  ) {
    // The native path encodes straight into its send arena: no rings needed.
    this.rings = (client instanceof NativeClient ? [] : setup.sizes).map((size) => {
      const n = Math.max(4, Math.min(256, Math.floor(RING_BYTES / size)));
      return Array.from({ length: n }, () => Buffer.alloc(size));
    });
    this.onSent = (err) => {
      this.sendsDone++;
      if (err) this.noteFault(errnoOfError(err));
    };
  }

  /** Opens flow `id` (its socket connected to the target, so the kernel reports ICMP errors). */
  static async open(id: number, setup: FlowSetup, sinks: ReplySinks): Promise<Flow> {
    let flow: Flow | undefined;
    const native = NativeClient.open(
      {
        family: setup.family,
        connect: { address: setup.address, port: setup.port },
        maxSend: Math.max(...setup.sizes),
        ...(setup.rcvbufBytes === undefined ? {} : { recvBufferBytes: setup.rcvbufBytes }),
        probes: {
          runId: setup.runId,
          flow: id,
          // The rows were checked in C; one call per flow and wake-up of the thread's probe group.
          onRows: (rows, start, count, offsetNs) => sinks.batch(flow as Flow, rows, start, count, offsetNs),
          ...(sinks.tally === undefined ? {} : { tally: sinks.tally }),
        },
      },
      () => undefined,
    );
    if (native !== undefined) {
      flow = new Flow(id, native, native.local().port, setup);
      const opened = flow;
      native.onFaults((errno) => opened.noteFault(errno));
      return flow;
    }
    const client = await EchoClient.open({
      family: setup.family,
      connect: { address: setup.address, port: setup.port },
      ...(setup.rcvbufBytes === undefined ? {} : { recvBufferBytes: setup.rcvbufBytes }),
    });
    const dgramFlow = new Flow(id, client, client.local().port, setup);
    const runId = setup.runId;
    client.listen(
      (data) => sinkDecoded(sinks.one, dgramFlow, decodeProbe(data, runId), clockNs()),
      (errno) => dgramFlow.noteFault(errno),
    );
    return dgramFlow;
  }

  /**
   * Encodes and sends probe `seq` (already allocated) of size index `sizeIndex`, stamping the actual
   * send time just before the hand-off (or `nowNs`, a clock read the caller just made for a burst);
   * without `intendedNs` (closed-loop modes) the intended time is the actual one. Returns the actual
   * send time, ns.
   */
  send(seq: number, sizeIndex: number, intendedNs?: number, nowNs?: number): number {
    const size = this.setup.sizes[sizeIndex] as number;
    const client = this.client;
    if (client instanceof NativeClient) {
      // C encodes the probe when the batch is flushed (at the end of this job), from these numbers.
      const actualNs = nowNs ?? clockNs();
      client.sendProbe(seq, intendedNs ?? actualNs, actualNs, size);
      return actualNs;
    }
    const ring = this.rings[sizeIndex] as Buffer[];
    // A ring slot is reused only once its earlier send completed (sends complete in order per socket).
    const buf =
      this.sendsIssued - this.sendsDone < ring.length
        ? (ring[this.sendsIssued % ring.length] as Buffer)
        : Buffer.allocUnsafe(size);
    const actualNs = clockNs();
    encodeProbe(buf, {
      runId: this.setup.runId,
      flow: this.id,
      seq,
      intendedNs: intendedNs ?? actualNs,
      actualNs,
      length: size,
    });
    this.sendsIssued++;
    client.sendWith(buf, this.onSent);
    return actualNs;
  }

  /**
   * Native path: hands the closed loop to C (window mode, see NativeClient.startWindow) and returns true;
   * on node:dgram returns false and the engine keeps the window itself.
   */
  startWindow(window: number, expireNs: number, endNs: number): boolean {
    if (!(this.client instanceof NativeClient)) return false;
    this.client.startWindow(window, expireNs, endNs, this.setup.sizes);
    return true;
  }

  /** Window mode on the native path: expiry and top-up in C; how many probes went out, and when. */
  windowTick(): { sent: number; atNs: number } {
    return this.client instanceof NativeClient ? this.client.windowTick() : { sent: 0, atNs: 0 };
  }

  /** Counts a socket fault: ICMP reports as icmpErrors, anything else as a generator send error. */
  noteFault(errno: string): void {
    if (ICMP_ERRNOS.has(errno)) this.counters.icmpErrors++;
    else this.counters.sendErrors.set(errno, (this.counters.sendErrors.get(errno) ?? 0) + 1);
  }

  /** Closes the socket. */
  close(): Promise<void> {
    return this.client.close();
  }
}

function errnoOfError(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

/** Opens `count` flows with ids from `firstId` on; closes the ones already open when one fails. */
export async function openFlows(
  count: number,
  setup: FlowSetup,
  sinks: ReplySinks,
  firstId = 0,
): Promise<Flow[]> {
  const flows: Flow[] = [];
  try {
    for (let i = 0; i < count; i++) flows.push(await Flow.open(firstId + i, setup, sinks));
  } catch (err) {
    await Promise.all(flows.map((f) => f.close()));
    throw err;
  }
  return flows;
}

/** The I/O path flows use in this process (LoadResult.io). */
export function flowIo(): IoPath {
  return ioPath();
}

/**
 * Whether a share's flows run on a native data-plane thread (NativePlane): the closed loops of flood
 * and ping-pong, the sends of rate mode at their intended times. On the native path with the
 * accounting in C, unless `internals.plane` is false (A/B).
 */
export function dataPlaneWanted(internals: Pick<LoadInternals, 'plane' | 'jsAccounting'>): boolean {
  return flowIo() === 'native' && internals.plane !== false && internals.jsAccounting !== true;
}

/**
 * Whether the data-plane thread computes a rate-mode schedule itself (sending.ts): constant arrivals on
 * the data plane. Poisson arrivals, and runs with the stall hook (it stalls JavaScript's thread, which
 * delays the sends only where JavaScript writes them), have JavaScript write the schedule into its ring.
 */
export function scheduleOnPlane(
  o: { readonly mode: LoadMode; readonly arrival: Arrival },
  internals: Pick<LoadInternals, 'plane' | 'jsAccounting' | 'stallAtMs'>,
): boolean {
  return (
    o.mode === 'rate' &&
    o.arrival === 'constant' &&
    internals.stallAtMs === undefined &&
    dataPlaneWanted(internals)
  );
}

/** LoadResult.ioPath: the I/O path of a run in this mode (and, in rate mode, with these arrivals), in words. */
export function flowIoPath(
  o: { readonly mode: LoadMode; readonly arrival: Arrival },
  internals: Pick<LoadInternals, 'plane' | 'jsAccounting' | 'stallAtMs'>,
): string {
  if (flowIo() !== 'native') return 'node:dgram, one send and one message event per datagram, main thread';
  const rate = scheduleOnPlane(o, internals) ? 'the schedule computed and sent' : 'the schedule sent';
  const what = o.mode === 'rate' ? rate : 'the closed loops';
  const loops = dataPlaneWanted(internals)
    ? `${what} on a native data-plane thread`
    : 'all flows in one epoll set';
  return `native: recvmmsg/sendmmsg batches, probes encoded, checked and accounted in C, ${loops}, JavaScript reads the counts per interval, main thread`;
}
