import { isIPv4 } from 'node:net';
import { HarnessError, isErrno } from '../harness/errors.js';
import { errnoError, NATIVE_STAT, type NativeModule, type NativeSocket } from '../harness/net/native-io.js';
import { bindError } from './bind-error.js';
import { refusedTable } from './echo-socket.js';
import { localAddresses, type InterfaceLister } from './local-addresses.js';
import { BIND_ALL, type ResolvedServeOptions } from './options.js';
import {
  copyDetailedStats,
  emptyDetailedStats,
  emptyStats,
  type DetailedStats,
  type DropReason,
  type ServerStats,
  type SocketFamily,
} from './server-stats.js';
import { inheritedSockets } from './systemd.js';
import { formatEndpoint } from '../harness/core/address.js';

/** One received batch as a JavaScript policy sees it; views are valid only during the call. */
export interface PolicyBatch {
  /** Datagrams in the batch. */
  readonly count: number;
  /** Family of the socket that received the batch. */
  readonly family: SocketFamily;
  /** Source port of datagram i. */
  port(i: number): number;
  /** Source address of datagram i, as text. */
  source(i: number): string;
  /** Length of datagram i. */
  length(i: number): number;
  /**
   * Whether datagram i is already dropped (own port, loop port or destination, decided in C; the loop guard
   * runs in C after the policy).
   */
  dropped(i: number): boolean;
  /** Drops datagram i, counted as dropped by policy under `reason`. */
  drop(i: number, reason: DropReason): void;
}

/** Optional hooks of the native backend: a policy called once per batch, after the checks made in C. */
export interface NativeServerHooks {
  readonly policy?: (batch: PolicyBatch) => void;
}

/** What the native backend returns to server.ts. */
export interface NativeServer {
  readonly port: number;
  addresses(): string[];
  stats(): ServerStats;
  /** Counters per family, with drops by reason (those made in C and those of the policy hook). */
  detailedStats(): DetailedStats;
  /** Replies waiting for the socket to become writable, and sockets open. */
  gauges(): { readonly inflight: number; readonly sockets: number };
  close(): Promise<void>;
}

/** Fresh ephemeral ports tried when port 0 is requested and a later socket already has the first one taken. */
const EPHEMERAL_BIND_ATTEMPTS = 8;

type Fam = 4 | 6;

const familyOf = (address: string): Fam => (isIPv4(address) ? 4 : 6);
const familyName = (f: Fam): SocketFamily => (f === 4 ? 'udp4' : 'udp6');
const wildcardOf = (f: Fam): string => (f === 4 ? '0.0.0.0' : '::');

/** What one native socket is opened on: an address to bind, or an inherited descriptor. */
type Target =
  | { readonly kind: 'bind'; readonly family: Fam; readonly address: string }
  | { readonly kind: 'fd'; readonly family: Fam; readonly fd: number };

/**
 * The native backend, echoing in C. Three layouts, each answering from the request's destination address
 * (IP_PKTINFO):
 * - with 'all': one wildcard socket per family (0.0.0.0 and [::], IPv6-only) on one port, so every local
 *   address is served, 127/8 aliases and addresses added later included;
 * - with explicit addresses only: one socket bound to each, so requests to other local addresses are left
 *   to the kernel (ICMP port unreachable), exactly as with node:dgram;
 * - with inherited descriptors (socket activation): each served as the service manager bound it.
 */
export async function startNativeServer(
  native: NativeModule,
  resolved: ResolvedServeOptions,
  list: InterfaceLister,
  hooks: NativeServerHooks = {},
): Promise<NativeServer> {
  const log = resolved.log;
  const activated = resolved.listenFds.length > 0;
  const scanAll = !activated && resolved.bind.includes(BIND_ALL);
  const explicit = activated ? [] : resolved.bind.filter((a) => a !== BIND_ALL);
  const explicitKeys = new Set(explicit.map(key));
  const refused = refusedTable(resolved.loopPorts);
  const served = new Map<string, string>();
  const failed = new Set<string>();
  const warnings: string[] = [];

  // Drops decided by the JavaScript policy, by family and reason; C counts its own.
  const policyDrops = emptyDetailedStats();
  const shared = native.shared();
  const batchOf = (family: SocketFamily, count: number): PolicyBatch => ({
    count,
    family,
    port: (i) => shared.meta[i * shared.metaStride + 1] ?? 0,
    length: (i) => shared.meta[i * shared.metaStride] ?? 0,
    source: (i) => addressText(shared.meta[i * shared.metaStride + 2] ?? 0, shared.src, i),
    dropped: (i) => shared.verdict[i] === 1,
    drop: (i, reason) => {
      if (shared.verdict[i] === 1) return;
      shared.verdict[i] = 1;
      policyDrops[family].dropped[reason]++;
    },
  });

  interface Open {
    readonly family: Fam;
    readonly socket: NativeSocket;
    readonly stats: Float64Array;
  }
  const sockets = new Map<string, Open>();
  /** Opens one echo socket under key `k`; returns the bound port. Bind failures name `name` and the port. */
  const open = (k: string, target: Target, port: number, name: string): number => {
    const reported = new Set<string>();
    const f = target.family;
    let endpoint = target.kind === 'fd' ? `fd ${target.fd}` : formatEndpoint(target.address, port);
    const onEvent = (kind: number | string, errno?: string): void => {
      if (kind !== 'error' || errno === undefined || reported.has(errno)) return;
      reported.add(errno);
      log(
        'warn',
        `socket error on udp ${endpoint}: ${errno} (further ${errno} errors are counted, not logged)`,
      );
    };
    let socket: NativeSocket;
    let bound: number;
    if (target.kind === 'fd') {
      try {
        socket = new native.Socket(f, 0, onEvent, target.fd);
      } catch (err) {
        throw inheritError(err, target.fd);
      }
      bound = socket.local()[1];
    } else {
      socket = new native.Socket(f, 0, onEvent);
      try {
        bound = socket.bind(target.address, port);
      } catch (err) {
        socket.close();
        throw bindError(err, name, port);
      }
    }
    endpoint = formatEndpoint(target.kind === 'fd' ? socket.local()[0] : target.address, bound);
    const stats = new Float64Array(NATIVE_STAT.length);
    const policy = hooks.policy;
    const family = familyName(f);
    if (policy !== undefined) socket.setPolicy((count) => policy(batchOf(family, count)));
    // Without a policy nothing of the echo needs JavaScript: a thread of its own answers the socket.
    const guarded = socket.startEcho(
      refused,
      stats,
      resolved.maxInflight,
      resolved.loopGuard,
      policy === undefined,
    );
    if (resolved.loopGuard && guarded !== true) {
      // A module built before the loop guard ignores the flag: better no server than an unprotected one.
      socket.close();
      throw new HarnessError(
        'ERR_ECHOLOT_INTERNAL',
        'the native I/O module is older than the loop guard: rebuild it with npm run build:native ' +
          '(or run with ECHOLOT_IO=dgram)',
      );
    }
    sockets.set(k, { family: f, socket, stats });
    return bound;
  };
  const closeAll = (): void => {
    for (const o of sockets.values()) o.socket.close();
    sockets.clear();
  };

  let port = resolved.port;
  if (activated) {
    try {
      for (const inherited of inheritedSockets(resolved.listenFds)) {
        // Two inherited sockets may share an address (different ports): keep both under distinct keys.
        const k = `fd${inherited.fd}`;
        open(k, { kind: 'fd', family: inherited.type === 'udp4' ? 4 : 6, fd: inherited.fd }, 0, '');
        const local = sockets.get(k)?.socket.local();
        if (local !== undefined) served.set(k, local[0]);
      }
    } catch (err) {
      closeAll();
      throw err;
    }
    const ports = new Set([...sockets.values()].map((o) => o.socket.local()[1]));
    port = ports.size === 1 ? [...ports][0]! : 0;
  } else {
    const candidates = [...explicit];
    if (scanAll) for (const a of localAddresses(list)) if (!explicitKeys.has(key(a))) candidates.push(a);
    if (candidates.length === 0) {
      throw new HarnessError(
        'ERR_ECHOLOT_BIND',
        `cannot bind udp port ${resolved.port}: no local address found (os.networkInterfaces() lists none)`,
      );
    }
    if (scanAll) {
      // An explicit address must be local, or the server does not start; interface addresses are skipped with a warning.
      let firstFailure: HarnessError | undefined;
      for (const address of candidates) {
        const code = native.probeBind(familyOf(address), address);
        if (code === undefined) {
          served.set(key(address), address);
          continue;
        }
        const error = bindError(errnoError(code, `bind ${code}`), address, resolved.port);
        if (explicitKeys.has(key(address))) throw error;
        firstFailure ??= error;
        failed.add(key(address));
        warnings.push(`skipping ${address}: ${error.message}`);
      }
      if (served.size === 0)
        throw firstFailure ?? new HarnessError('ERR_ECHOLOT_BIND', 'no address to serve');
    }
    // The address a wildcard socket's bind failure is reported for: the first one served on its family.
    const nameFor = (f: Fam): string => [...served.values()].find((a) => familyOf(a) === f) ?? wildcardOf(f);
    const targets: [string, Target, string][] = scanAll
      ? ([4, 6] as const)
          .filter((f) => [...served.values()].some((a) => familyOf(a) === f))
          .map((f) => [String(f), { kind: 'bind', family: f, address: wildcardOf(f) }, nameFor(f)])
      : explicit.map((a) => [key(a), { kind: 'bind', family: familyOf(a), address: a }, a]);
    let lastInUse: HarnessError | undefined;
    for (let attempt = 0; ; attempt++) {
      if (attempt === EPHEMERAL_BIND_ATTEMPTS) {
        throw new HarnessError(
          'ERR_ECHOLOT_BIND',
          `cannot bind one ephemeral udp port on every socket: ${EPHEMERAL_BIND_ATTEMPTS} ports tried, each already in use at one of them`,
          { cause: lastInUse },
        );
      }
      port = resolved.port;
      try {
        // With port 0 the first socket picks the port and the rest follow it.
        for (const [k, target, name] of targets) port = open(k, target, port, name);
        break;
      } catch (err) {
        const first = sockets.size === 0;
        closeAll();
        const error = err instanceof HarnessError ? err : bindError(err, nameFor(4), port);
        if (resolved.port !== 0 || first || !isErrno(error.cause, 'EADDRINUSE')) throw error;
        lastInUse = error;
      }
    }
    if (!scanAll) for (const a of explicit) served.set(key(a), a);
  }
  for (const w of warnings) log('warn', w);

  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const rescan = (): void => {
    try {
      const wanted = new Map(localAddresses(list).map((a) => [key(a), a]));
      for (const [k, address] of served) {
        if (explicitKeys.has(k) || wanted.has(k)) continue;
        served.delete(k);
        log('info', `address gone: stopped serving udp ${formatEndpoint(address, port)}`);
      }
      for (const k of failed) if (!wanted.has(k)) failed.delete(k);
      for (const [k, address] of wanted) {
        if (served.has(k)) continue;
        const f = familyOf(address);
        const code = native.probeBind(f, address);
        if (code === undefined && !sockets.has(String(f))) {
          try {
            open(String(f), { kind: 'bind', family: f, address: wildcardOf(f) }, port, address);
          } catch (err) {
            if (!failed.has(k)) log('warn', `address added but not served: ${messageOf(err)}`);
            failed.add(k);
            continue;
          }
        }
        if (code === undefined) {
          served.set(k, address);
          failed.delete(k);
          log('info', `address added: serving udp ${formatEndpoint(address, port)}`);
        } else {
          if (!failed.has(k)) {
            const error = bindError(errnoError(code, `bind ${code}`), address, port);
            log('warn', `address added but not served: ${error.message}`);
          }
          failed.add(k);
        }
      }
    } catch (err) {
      log('error', `interface re-scan failed: ${messageOf(err)}`);
    }
  };
  if (scanAll) {
    timer = setInterval(() => {
      if (!closed) rescan();
    }, resolved.rescanIntervalMs);
    timer.unref();
  }

  const read = (stats: Float64Array, i: number): number => stats[i] ?? 0;
  return {
    port,
    addresses: () => [...served.values()],
    stats: () => {
      const s = emptyStats();
      for (const { stats } of sockets.values()) {
        s.received += read(stats, NATIVE_STAT.received);
        s.echoed += read(stats, NATIVE_STAT.echoed);
        s.droppedByPolicy += read(stats, NATIVE_STAT.droppedByPolicy);
        s.droppedQueueFull += read(stats, NATIVE_STAT.droppedQueueFull);
        s.errors += read(stats, NATIVE_STAT.errors);
        s.bytesIn += read(stats, NATIVE_STAT.bytesIn);
        s.bytesOut += read(stats, NATIVE_STAT.bytesOut);
      }
      return s;
    },
    detailedStats: () => {
      const d = copyDetailedStats(policyDrops);
      for (const { family, stats } of sockets.values()) {
        const fam = d[familyName(family)];
        fam.received += read(stats, NATIVE_STAT.received);
        fam.echoed += read(stats, NATIVE_STAT.echoed);
        fam.bytesIn += read(stats, NATIVE_STAT.bytesIn);
        fam.bytesOut += read(stats, NATIVE_STAT.bytesOut);
        fam.errors += read(stats, NATIVE_STAT.errors);
        fam.dropped['own-port'] += read(stats, NATIVE_STAT.droppedOwnPort);
        fam.dropped['loop-port'] += read(stats, NATIVE_STAT.droppedLoopPort);
        fam.dropped.destination += read(stats, NATIVE_STAT.droppedDestination);
        fam.dropped['echo-loop'] += read(stats, NATIVE_STAT.droppedEchoLoop);
        fam.dropped['queue-full'] += read(stats, NATIVE_STAT.droppedQueueFull);
      }
      return d;
    },
    gauges: () => ({
      inflight: [...sockets.values()].reduce((n, o) => n + read(o.stats, NATIVE_STAT.queued), 0),
      sockets: closed ? 0 : sockets.size,
    }),
    close: () => {
      if (!closed) {
        closed = true;
        clearInterval(timer);
        const last = [...sockets].map(([k, o]) => [k, o.family, o.stats.slice()] as const);
        closeAll();
        served.clear();
        // Counters stay readable after close, as with the dgram backend.
        for (const [k, family, stats] of last) sockets.set(k, { family, socket: closedSocket, stats });
      }
      return Promise.resolve();
    },
  };
}

function inheritError(err: unknown, fd: number): HarnessError {
  const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new HarnessError('ERR_ECHOLOT_BIND', `cannot serve inherited socket fd ${fd}: ${detail}`, {
    cause: err,
  });
}

/** Stands in for a closed socket so that stats() still reads the final counters. */
const closedSocket = { close: () => undefined } as unknown as NativeSocket;

function addressText(family: number, src: Uint8Array, i: number): string {
  const b = src.subarray(i * 16, i * 16 + 16);
  if (family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const words: string[] = [];
  for (let k = 0; k < 16; k += 2) words.push((((b[k] ?? 0) << 8) | (b[k + 1] ?? 0)).toString(16));
  return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Identity of an address for de-duplication: IPv6 hex digits compare case-insensitively, scope names do not. */
function key(address: string): string {
  const at = address.indexOf('%');
  return at < 0 ? address.toLowerCase() : `${address.slice(0, at).toLowerCase()}${address.slice(at)}`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
