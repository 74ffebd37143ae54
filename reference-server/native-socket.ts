import { isIPv4 } from 'node:net';
import { HarnessError, isErrno } from '../harness/errors.js';
import { errnoError, NATIVE_STAT, type NativeModule, type NativeSocket } from '../harness/net/native-io.js';
import { bindError, formatEndpoint } from './bind-error.js';
import { refusedTable } from './echo-socket.js';
import { localAddresses, type InterfaceLister } from './local-addresses.js';
import { BIND_ALL, type ResolvedServeOptions } from './options.js';
import { emptyDetailedStats, emptyStats, type DetailedStats, type ServerStats } from './server-stats.js';

/** One received batch as a JavaScript policy sees it; views are valid only during the call. */
export interface PolicyBatch {
  /** Datagrams in the batch. */
  readonly count: number;
  /** Source port of datagram i. */
  port(i: number): number;
  /** Source address of datagram i, as text. */
  source(i: number): string;
  /** Length of datagram i. */
  length(i: number): number;
  /** Drops datagram i (counted as dropped by policy). */
  drop(i: number): void;
}

/** Optional hooks of the native backend: a policy called once per batch, after loop-port protection. */
export interface NativeServerHooks {
  readonly policy?: (batch: PolicyBatch) => void;
}

/** What the native backend returns to server.ts. */
export interface NativeServer {
  readonly port: number;
  addresses(): string[];
  stats(): ServerStats;
  /** Counters per family; drops by loop and own port are counted together as loop-port. */
  detailedStats(): DetailedStats;
  /** Replies waiting for the socket to become writable, and sockets open. */
  gauges(): { readonly inflight: number; readonly sockets: number };
  close(): Promise<void>;
}

/** Fresh ephemeral ports tried when port 0 is requested and the other family already has the first one taken. */
const EPHEMERAL_BIND_ATTEMPTS = 8;

type Fam = 4 | 6;

const familyOf = (address: string): Fam => (isIPv4(address) ? 4 : 6);

/** Address bytes and scope id of a literal address, for the destination filter. */
function filterEntry(address: string): readonly [Fam, Uint8Array, number] {
  const bytes = new Uint8Array(16);
  const at = address.indexOf('%');
  const bare = at < 0 ? address : address.slice(0, at);
  if (isIPv4(bare)) {
    bare.split('.').forEach((o, i) => (bytes[i] = Number(o)));
    return [4, bytes, 0];
  }
  const [head = '', tail = ''] = bare.includes('::') ? bare.split('::') : [bare, ''];
  const words = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((w) => {
      if (!w.includes('.')) return [parseInt(w, 16)];
      const o = w.split('.').map(Number);
      return [((o[0] ?? 0) << 8) | (o[1] ?? 0), ((o[2] ?? 0) << 8) | (o[3] ?? 0)];
    });
  };
  const h = words(head);
  const t = words(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  all.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  // Link-local scope by name is resolved by the kernel at bind time; here only a numeric scope filters.
  const scope = at < 0 ? 0 : Number(address.slice(at + 1));
  return [6, bytes, Number.isInteger(scope) ? scope : 0];
}

/**
 * The native backend: one wildcard socket per family (0.0.0.0 and [::], IPv6-only) on one port, echoing
 * in C. Each reply leaves from the request's destination address (IP_PKTINFO), so every local address is
 * served correctly, 127/8 aliases and addresses added later included. With explicit addresses only, the
 * sockets answer only those destinations; with 'all', every local unicast destination.
 */
export async function startNativeServer(
  native: NativeModule,
  resolved: ResolvedServeOptions,
  list: InterfaceLister,
  hooks: NativeServerHooks = {},
): Promise<NativeServer> {
  const log = resolved.log;
  const scanAll = resolved.bind.includes(BIND_ALL);
  const explicit = resolved.bind.filter((a) => a !== BIND_ALL);
  const explicitKeys = new Set(explicit.map(key));
  const refused = refusedTable(resolved.loopPorts);
  const served = new Map<string, string>();
  const failed = new Set<string>();

  // An explicit address must be local, or the server does not start; interface addresses are skipped with a warning.
  const warnings: string[] = [];
  let firstFailure: HarnessError | undefined;
  const candidates = [...explicit];
  if (scanAll) for (const a of localAddresses(list)) if (!explicitKeys.has(key(a))) candidates.push(a);
  if (candidates.length === 0) {
    throw new HarnessError(
      'ERR_ECHOLOT_BIND',
      `cannot bind udp port ${resolved.port}: no local address found (os.networkInterfaces() lists none)`,
    );
  }
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
  if (served.size === 0) throw firstFailure ?? new HarnessError('ERR_ECHOLOT_BIND', 'no address to serve');

  const families = (): Fam[] => {
    const fams = new Set([...served.values()].map(familyOf));
    return ([4, 6] as const).filter((f) => fams.has(f));
  };
  // The address a bind failure of family f is reported for: the first one served on it.
  const nameFor = (f: Fam): string =>
    [...served.values()].find((a) => familyOf(a) === f) ?? (f === 4 ? '0.0.0.0' : '::');

  const shared = native.shared();
  const policyBatch = (count: number): PolicyBatch => ({
    count,
    port: (i) => shared.meta[i * shared.metaStride + 1] ?? 0,
    length: (i) => shared.meta[i * shared.metaStride] ?? 0,
    source: (i) => addressText(shared.meta[i * shared.metaStride + 2] ?? 0, shared.src, i),
    drop: (i) => {
      shared.verdict[i] = 1;
    },
  });

  interface Open {
    readonly socket: NativeSocket;
    readonly stats: Float64Array;
  }
  const sockets = new Map<Fam, Open>();
  const open = (f: Fam, port: number): number => {
    const reported = new Set<string>();
    const wildcard = f === 4 ? '0.0.0.0' : '::';
    let endpoint = formatEndpoint(wildcard, port);
    const socket = new native.Socket(f, 0, (kind, errno) => {
      if (kind !== 'error' || errno === undefined || reported.has(errno)) return;
      reported.add(errno);
      log(
        'warn',
        `socket error on udp ${endpoint}: ${errno} (further ${errno} errors are counted, not logged)`,
      );
    });
    let bound: number;
    try {
      bound = socket.bind(wildcard, port);
    } catch (err) {
      socket.close();
      throw bindError(err, nameFor(f), port);
    }
    endpoint = formatEndpoint(wildcard, bound);
    const stats = new Float64Array(NATIVE_STAT.length);
    socket.setFilter(scanAll ? null : explicit.filter((a) => familyOf(a) === f).map(filterEntry));
    const policy = hooks.policy;
    if (policy !== undefined) socket.setPolicy((count) => policy(policyBatch(count)));
    socket.startEcho(refused, stats, resolved.maxInflight);
    sockets.set(f, { socket, stats });
    return bound;
  };
  const closeAll = (): void => {
    for (const o of sockets.values()) o.socket.close();
    sockets.clear();
  };

  let port = resolved.port;
  let lastInUse: HarnessError | undefined;
  for (let attempt = 0; ; attempt++) {
    if (attempt === EPHEMERAL_BIND_ATTEMPTS) {
      throw new HarnessError(
        'ERR_ECHOLOT_BIND',
        `cannot bind one ephemeral udp port for IPv4 and IPv6: ${EPHEMERAL_BIND_ATTEMPTS} ports tried, each already in use`,
        { cause: lastInUse },
      );
    }
    port = resolved.port;
    try {
      for (const f of families()) port = open(f, port);
      break;
    } catch (err) {
      closeAll();
      const error = err instanceof HarnessError ? err : bindError(err, nameFor(4), port);
      if (resolved.port !== 0 || !isErrno(error.cause, 'EADDRINUSE')) throw error;
      lastInUse = error;
    }
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
        if (code === undefined && !sockets.has(f)) {
          try {
            open(f, port);
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

  return {
    port,
    addresses: () => [...served.values()],
    stats: () => {
      const s = emptyStats();
      for (const { stats } of sockets.values()) {
        s.received += stats[NATIVE_STAT.received] ?? 0;
        s.echoed += stats[NATIVE_STAT.echoed] ?? 0;
        s.droppedByPolicy += stats[NATIVE_STAT.droppedByPolicy] ?? 0;
        s.droppedQueueFull += stats[NATIVE_STAT.droppedQueueFull] ?? 0;
        s.errors += stats[NATIVE_STAT.errors] ?? 0;
        s.bytesIn += stats[NATIVE_STAT.bytesIn] ?? 0;
        s.bytesOut += stats[NATIVE_STAT.bytesOut] ?? 0;
      }
      return s;
    },
    detailedStats: () => {
      const d = emptyDetailedStats();
      for (const [f, { stats }] of sockets) {
        const fam = f === 4 ? d.udp4 : d.udp6;
        fam.received += stats[NATIVE_STAT.received] ?? 0;
        fam.echoed += stats[NATIVE_STAT.echoed] ?? 0;
        fam.bytesIn += stats[NATIVE_STAT.bytesIn] ?? 0;
        fam.bytesOut += stats[NATIVE_STAT.bytesOut] ?? 0;
        fam.errors += stats[NATIVE_STAT.errors] ?? 0;
        fam.dropped['loop-port'] += stats[NATIVE_STAT.droppedByPolicy] ?? 0;
        fam.dropped['queue-full'] += stats[NATIVE_STAT.droppedQueueFull] ?? 0;
      }
      return d;
    },
    gauges: () => ({
      inflight: [...sockets.values()].reduce((n, o) => n + (o.stats[NATIVE_STAT.queued] ?? 0), 0),
      sockets: closed ? 0 : sockets.size,
    }),
    close: () => {
      if (!closed) {
        closed = true;
        clearInterval(timer);
        const last = new Map([...sockets].map(([f, o]) => [f, o.stats.slice()]));
        closeAll();
        served.clear();
        // Counters stay readable after close, as with the dgram backend.
        for (const [f, stats] of last) sockets.set(f, { socket: closedSocket, stats });
      }
      return Promise.resolve();
    },
  };
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
