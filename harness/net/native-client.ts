/** A connected client socket on the native I/O module: batched receive, sends written in place and flushed in one sendmmsg. */
import { performance } from 'node:perf_hooks';
import type { Family } from '../protocol/constants.js';
import { nativeIo, type NativeShared, type NativeSocket } from './native-io.js';

/** Receives one datagram: a view valid only during the call, and its receive time (ns, performance.now() clock). */
export type NativeDataHandler = (data: Buffer, atNs: number) => void;

/** Receives an ICMP error reported on the connected socket, or a send error (errno name). */
export type NativeFaultHandler = (errno: string) => void;

/**
 * Receives one batch of probe rows (probe mode): `count` rows of PROBE_ROW_STRIDE numbers in `rows`, valid
 * only during the call; add `offsetNs` to a row's receive time to put it on performance.now()'s clock.
 */
export type NativeProbeHandler = (rows: Float64Array, count: number, offsetNs: number) => void;

/** Probe mode: the probes of this run id and flow are encoded and checked in C (NativeSocket.startProbes). */
export interface NativeProbeOptions {
  readonly runId: Uint8Array;
  readonly flow: number;
  readonly onRows: NativeProbeHandler;
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
  /** True while a batch of probe rows is handled: sends then leave when the handler returns, without a microtask. */
  private inBatch = false;
  private closed = false;
  private onFault: NativeFaultHandler = () => undefined;
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
    const shared: NativeShared = native.shared();
    // uv_hrtime and performance.now() tick on the same monotonic clock; only the origin differs.
    const offsetNs = performance.now() * 1e6 - native.hrtime();
    const stride = shared.metaStride;
    const slot = shared.slot;
    const data = Buffer.from(shared.data);
    const { meta, ts } = shared;
    let client: NativeClient | undefined;
    let rows: Float64Array | undefined;
    const onRows = options.probes?.onRows;
    const socket = new native.Socket(options.family === 'IPv4' ? 4 : 6, 1, (what) => {
      if (typeof what === 'string') {
        client?.onFault(what);
        return;
      }
      if (rows !== undefined && onRows !== undefined && client !== undefined) {
        // The probes sent while handling this batch go out from C when this returns (see sendProbe).
        client.inBatch = true;
        try {
          onRows(rows, what, offsetNs);
        } finally {
          client.inBatch = false;
        }
        return client.takeBatch();
      }
      for (let i = 0; i < what; i++) {
        const at = i * slot;
        onData(data.subarray(at, at + (meta[i * stride] ?? 0)), (ts[i] ?? 0) + offsetNs);
      }
    });
    try {
      socket.bind(options.family === 'IPv4' ? '0.0.0.0' : '::', 0);
      if (options.recvBufferBytes !== undefined) socket.bufferSize(0, options.recvBufferBytes);
      socket.connect(options.connect.address, options.connect.port);
      const slotSize = Math.max(1, options.maxSend);
      const n = Math.max(4, Math.min(256, Math.floor((options.arenaBytes ?? 1 << 21) / slotSize)));
      const [arena, lengths] = socket.startClient(n, slotSize, SEND_QUEUE_MAX);
      const opened = new NativeClient(socket, arena, lengths, slotSize);
      if (options.probes !== undefined) {
        const [recvRows, sendRows] = socket.startProbes(options.probes.runId, options.probes.flow);
        rows = recvRows;
        opened.sendRows = sendRows;
      }
      client = opened;
      return client;
    } catch (err) {
      socket.close();
      throw err;
    }
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
    if (!this.scheduled && !this.inBatch) {
      this.scheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  /** Hands the slots filled during a batch to C, which sends them as the batch callback returns. */
  private takeBatch(): number {
    const n = this.closed ? 0 : this.count;
    this.count = 0;
    return n;
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
    }
    return Promise.resolve();
  }
}
