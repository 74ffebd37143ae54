import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { Family } from '../protocol/constants.js';
import { errnoOf } from '../errors.js';

/** One datagram as received: its bytes, where it came from and when (monotonic ns). */
export interface Datagram {
  readonly data: Buffer;
  readonly from: { readonly address: string; readonly port: number; readonly family: Family };
  readonly atNs: bigint;
}

/** An ICMP error reported on a connected socket (ECONNREFUSED = port unreachable, EHOSTUNREACH, ...). */
export interface SocketFault {
  readonly errno: string;
  readonly message: string;
  readonly atNs: bigint;
}

/** What a wait for the next datagram produced. */
export type ReceiveOutcome =
  | { readonly kind: 'datagram'; readonly datagram: Datagram }
  | { readonly kind: 'fault'; readonly fault: SocketFault }
  | { readonly kind: 'timeout' };

/** How to open a client socket. */
export interface EchoClientOptions {
  readonly family: Family;
  /** Local address to bind; the OS picks when absent. */
  readonly bindAddress?: string;
  /** Local port; 0 (an OS-assigned ephemeral port) unless a case needs a specific source port. */
  readonly bindPort?: number;
  /** Connect to this peer so the kernel filters other sources and reports ICMP errors. */
  readonly connect?: { readonly address: string; readonly port: number };
  /** SO_RCVBUF / SO_SNDBUF in bytes, when the default is too small for large datagrams. */
  readonly bufferBytes?: number;
  /** SO_RCVBUF alone in bytes (overrides bufferBytes for the receive side); load tests set it tiny. */
  readonly recvBufferBytes?: number;
}

/** Hot-path receive callback: the datagram's bytes only (no per-datagram wrapper objects). */
export type DatagramHandler = (data: Buffer) => void;

/** Hot-path fault callback (ICMP errors on a connected socket, send errors). */
export type FaultHandler = (errno: string, message: string) => void;

type State = 'open' | 'closing' | 'closed';

/** Monotonic clock in nanoseconds. */
export const nowNs = (): bigint => process.hrtime.bigint();

/**
 * A UDP client socket with a receive queue: datagrams and ICMP faults are queued as they arrive,
 * and `receive()` takes the next one or times out. Every wait is bounded; `close()` is idempotent.
 */
export class EchoClient {
  private state: State = 'open';
  private readonly queue: ReceiveOutcome[] = [];
  private waiter: ((o: ReceiveOutcome) => void) | undefined;
  private onData: DatagramHandler | undefined;
  private onFault: FaultHandler | undefined;
  private observer: ((o: Exclude<ReceiveOutcome, { kind: 'timeout' }>) => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly family: Family,
  ) {
    socket.on('message', (data, rinfo) => {
      if (this.onData) {
        if (this.state === 'open') this.onData(data);
        return;
      }
      this.push({
        kind: 'datagram',
        datagram: {
          data,
          from: { address: rinfo.address, port: rinfo.port, family: rinfo.family as Family },
          atNs: nowNs(),
        },
      });
    });
    socket.on('error', (err) => {
      if (this.onFault) {
        if (this.state === 'open') this.onFault(errnoOf(err) ?? 'EUNKNOWN', err.message);
        return;
      }
      this.push({
        kind: 'fault',
        fault: { errno: errnoOf(err) ?? 'EUNKNOWN', message: err.message, atNs: nowNs() },
      });
    });
  }

  /** Opens and binds a socket (port 0 by default), optionally connected. */
  static async open(options: EchoClientOptions): Promise<EchoClient> {
    const socket = createSocket({
      type: options.family === 'IPv4' ? 'udp4' : 'udp6',
      ...(options.family === 'IPv6' ? { ipv6Only: true } : {}),
      ...(options.bufferBytes === undefined
        ? {}
        : { recvBufferSize: options.bufferBytes, sendBufferSize: options.bufferBytes }),
      ...(options.recvBufferBytes === undefined ? {} : { recvBufferSize: options.recvBufferBytes }),
    });
    const client = new EchoClient(socket, options.family);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(
          { port: options.bindPort ?? 0, ...(options.bindAddress ? { address: options.bindAddress } : {}) },
          () => {
            socket.off('error', reject);
            resolve();
          },
        );
      });
      // bind() errors arrive through the 'error' listener too; they belong to open(), not to the queue.
      client.queue.length = 0;
      if (options.connect) {
        socket.connect(options.connect.port, options.connect.address);
        await once(socket, 'connect');
      }
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  /** The local address and port the OS gave this socket. */
  local(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Sends one datagram; to the connected peer when `to` is omitted. Resolves once handed to the kernel. */
  send(data: Uint8Array, to?: { readonly address: string; readonly port: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err: Error | null): void => (err ? reject(err) : resolve());
      if (to) this.socket.send(data, to.port, to.address, done);
      else this.socket.send(data, done);
    });
  }

  /**
   * Callback mode for load generation: from now on every datagram goes to `onData` and every fault to
   * `onFault` instead of the receive queue (anything already queued stays there). Not reversible.
   */
  listen(onData: DatagramHandler, onFault: FaultHandler): void {
    this.onData = onData;
    this.onFault = onFault;
  }

  /**
   * Sends without a Promise: `done` is called once the kernel has the datagram (or with the error).
   * The caller must not modify `data` before `done` runs. To the connected peer when `to` is omitted.
   */
  sendWith(
    data: Uint8Array,
    done: (err: Error | null) => void,
    to?: { readonly address: string; readonly port: number },
  ): void {
    if (this.state !== 'open') {
      done(new Error('socket closed'));
      return;
    }
    if (to) this.socket.send(data, to.port, to.address, done);
    else this.socket.send(data, done);
  }

  /** The socket's current SO_RCVBUF in bytes (as the kernel reports it, i.e. doubled on Linux). */
  receiveBufferSize(): number {
    return this.socket.getRecvBufferSize();
  }

  /**
   * Observer mode: from now on every datagram and fault, with its source and arrival time, goes to
   * `observer` instead of the receive queue (anything already queued is handed over first). Not
   * reversible. The run's ledger watches every socket of a check this way.
   */
  observe(observer: (o: Exclude<ReceiveOutcome, { kind: 'timeout' }>) => void): void {
    this.observer = observer;
    for (const o of this.queue.splice(0)) if (o.kind !== 'timeout') observer(o);
  }

  /** Takes the next queued datagram or fault, or waits up to `timeoutMs` for one. */
  receive(timeoutMs: number, signal?: AbortSignal): Promise<ReceiveOutcome> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.state !== 'open' || signal?.aborted) return Promise.resolve({ kind: 'timeout' });
    return new Promise((resolve) => {
      const finish = (o: ReceiveOutcome): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        resolve(o);
      };
      const onAbort = (): void => finish({ kind: 'timeout' });
      const timer = setTimeout(onAbort, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = finish;
    });
  }

  /** Collects every datagram that arrives within `windowMs` (used to catch duplicates and strays). */
  async drain(windowMs: number): Promise<Datagram[]> {
    const deadline = Date.now() + windowMs;
    const out: Datagram[] = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 && this.queue.length === 0) return out;
      const o = await this.receive(Math.max(0, left));
      if (o.kind === 'timeout') return out;
      if (o.kind === 'datagram') out.push(o.datagram);
    }
  }

  /** Closes the socket; safe to call more than once. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.waiter?.({ kind: 'timeout' });
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    this.state = 'closed';
  }

  private push(o: ReceiveOutcome): void {
    if (this.state !== 'open') return;
    if (this.observer && o.kind !== 'timeout') {
      this.observer(o);
      return;
    }
    if (this.waiter) this.waiter(o);
    else this.queue.push(o);
  }
}

/** Opens a client, runs `fn`, and always closes the client. */
export async function withClient<T>(
  options: EchoClientOptions,
  fn: (c: EchoClient) => Promise<T>,
): Promise<T> {
  const client = await EchoClient.open(options);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
