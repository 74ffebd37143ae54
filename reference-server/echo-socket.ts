import { createSocket, type RemoteInfo, type SocketType } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { HarnessError, errnoOf } from '../harness/errors.js';
import { bindError } from './bind-error.js';
import type { LoopGuard } from './loop-guard.js';
import type { LogSink } from './options.js';
import { ACCEPT, type Policy } from './policy.js';
import { StatsRecorder, type DetailedStats, type ServerStats } from './server-stats.js';
import { formatEndpoint } from '../harness/core/address.js';

/** State shared by every socket of one server: counters, the in-flight budget and the refused-port table. */
export interface EchoCore {
  readonly stats: ServerStats;
  /** Replies handed to the kernel whose send callback has not run yet, across all sockets. */
  inflight: number;
  readonly maxInflight: number;
  /** Indexed by source port; 1 = never answer (a lookup table keeps the hot path free of Set hashing). */
  readonly refused: Uint8Array;
  readonly log: LogSink;
  /** Counters per family and drop reason, fed together with `stats` through a StatsRecorder. */
  readonly detailed: DetailedStats;
  /** Access control and rate limits, asked once per datagram (loop ports included). */
  readonly policy: Policy;
  /** Asked last, about every datagram that would be answered; undefined = turned off. */
  readonly loopGuard: LoopGuard | undefined;
}

/** A descriptor handed over by the service manager, already bound, with its family. */
export interface InheritedSocket {
  readonly fd: number;
  readonly type: SocketType;
}

/** One bound echo socket serving one local address. */
export interface EchoSocket {
  /** The bind string, e.g. '127.0.0.2' or 'fe80::1%eth0'. */
  readonly address: string;
  /** The port the kernel bound. */
  readonly port: number;
  /** Closes the socket; idempotent. */
  close(): Promise<void>;
}

/** How long a bind may take before it counts as an environment fault (literal addresses never hit DNS). */
const BIND_TIMEOUT_MS = 5000;

/** Builds the refused-port table from a list of ports. */
export function refusedTable(ports: readonly number[]): Uint8Array {
  const table = new Uint8Array(65536);
  for (const p of ports) table[p] = 1;
  return table;
}

/**
 * Binds one socket to `address:port` and starts echoing. Rejects with a HarnessError naming the address and
 * port. One socket per address is what makes the reply leave from the address the request was sent to:
 * node:dgram cannot report a wildcard socket's destination address.
 */
export function bindEchoSocket(
  core: EchoCore,
  address: string,
  port: number,
  inherited?: InheritedSocket,
): Promise<EchoSocket> {
  const type: SocketType = inherited?.type ?? (isIPv4(address) ? 'udp4' : 'udp6');
  // ipv6Only: without it a '::'-family socket could also claim the IPv4 port and answer v4-mapped.
  // An inherited socket keeps whatever the service manager set (BindIPv6Only=).
  const socket = createSocket(
    type === 'udp6' && inherited === undefined ? { type, ipv6Only: true } : { type },
  );
  let state: 'binding' | 'open' | 'closed' = 'binding';
  let endpoint = inherited === undefined ? formatEndpoint(address, port) : `fd ${inherited.fd}`;
  const stats = new StatsRecorder(core.stats, core.detailed[type]);
  const policy = core.policy;
  const loopGuard = core.loopGuard;
  const reported = new Set<string>();

  // Under a flood the same errno can repeat thousands of times a second: count every one, log each kind once.
  const noteError = (err: unknown, what: string): void => {
    stats.error();
    const code = errnoOf(err) ?? 'unknown';
    if (reported.has(code)) return;
    reported.add(code);
    const detail = err instanceof Error ? err.message : String(err);
    core.log(
      'warn',
      `${what} on udp ${endpoint}: ${detail} (further ${code} errors are counted, not logged)`,
    );
  };

  // One callback for every reply of this socket rather than a closure per datagram.
  const afterSend = (err: Error | null, sent: number): void => {
    core.inflight--;
    if (err === null) {
      stats.echoed(sent);
    } else if (state === 'open') {
      noteError(err, 'send failed');
    }
  };

  // Set once bound: a datagram from our own port number is almost always another echo server on the
  // same port answering us, the start of an echo<->echo loop on a non-standard port.
  let ownPort = -1;

  const onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    stats.received(msg.length);
    if (rinfo.port === ownPort) {
      stats.dropped('own-port');
      return;
    }
    const now = performance.now();
    const verdict = policy.decide(rinfo.address, rinfo.port, type, now);
    if (verdict !== ACCEPT) {
      stats.dropped(verdict);
      return;
    }
    if (loopGuard?.isLoop(rinfo.address, rinfo.port, msg, now) === true) {
      stats.dropped('echo-loop');
      return;
    }
    if (core.inflight >= core.maxInflight) {
      stats.dropped('queue-full');
      return;
    }
    core.inflight++;
    try {
      socket.send(msg, rinfo.port, rinfo.address, afterSend);
    } catch (err) {
      // send() throws synchronously only for a closed socket or a bad argument; neither may stop the server.
      core.inflight--;
      noteError(err, 'send failed');
    }
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      if (state === 'closed') {
        resolve();
        return;
      }
      state = 'closed';
      try {
        socket.close(() => resolve());
      } catch {
        // Already closed underneath us (ERR_SOCKET_DGRAM_NOT_RUNNING): nothing left to release.
        resolve();
      }
    });
    return closing;
  };

  const failure = (err: unknown): HarnessError =>
    inherited === undefined ? bindError(err, address, port) : inheritError(err, inherited.fd);

  return new Promise<EchoSocket>((resolve, reject) => {
    const timer = setTimeout(() => {
      fail(
        new HarnessError(
          'ERR_ECHOLOT_INTERNAL',
          `cannot bind udp ${endpoint}: no answer from the OS after ${BIND_TIMEOUT_MS} ms`,
        ),
      );
    }, BIND_TIMEOUT_MS);
    timer.unref();

    const fail = (err: HarnessError): void => {
      clearTimeout(timer);
      void close().then(() => reject(err));
    };

    socket.on('error', (err) => {
      if (state === 'binding') fail(failure(err));
      else if (state === 'open') noteError(err, 'socket error');
    });
    socket.on('message', onMessage);
    socket.once('listening', () => {
      if (state !== 'binding') return;
      clearTimeout(timer);
      state = 'open';
      const local = socket.address();
      const bound = local.port;
      const served = inherited === undefined ? address : local.address;
      endpoint = formatEndpoint(served, bound);
      ownPort = bound;
      resolve({ address: served, port: bound, close });
    });
    try {
      if (inherited === undefined) socket.bind({ address, port, exclusive: true });
      else socket.bind({ fd: inherited.fd });
    } catch (err) {
      fail(failure(err));
    }
  });
}

function inheritError(err: unknown, fd: number): HarnessError {
  const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new HarnessError('ERR_ECHOLOT_BIND', `cannot serve inherited socket fd ${fd}: ${detail}`, {
    cause: err,
  });
}
