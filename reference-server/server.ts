import { networkInterfaces } from 'node:os';
import { HarnessError, isErrno } from '../harness/errors.js';
import { nativeIo, type IoPath } from '../harness/net/native-io.js';
import { bindEchoSocket, refusedTable, type EchoCore, type EchoSocket } from './echo-socket.js';
import { localAddresses, type InterfaceLister } from './local-addresses.js';
import { createLoopGuard } from './loop-guard.js';
import { startNativeServer, type PolicyBatch } from './native-socket.js';
import { BIND_ALL, resolveServeOptions, type ResolvedServeOptions, type ServeOptions } from './options.js';
import { ACCEPT, createPolicy, type Policy } from './policy.js';
import {
  copyDetailedStats,
  emptyDetailedStats,
  emptyStats,
  type DetailedStats,
  type ServerStats,
} from './server-stats.js';
import { inheritedSockets } from './systemd.js';
import { formatEndpoint } from '../harness/core/address.js';

/** A running reference echo server. */
export interface ReferenceServer {
  /** The UDP port every address is served on. */
  readonly port: number;
  /** The datagram I/O path: 'native' (echo in C, batched) or 'dgram' (node:dgram, one call per datagram). */
  readonly io: IoPath;
  /** addresses currently bound, e.g. ['127.0.0.1', '::1'] */
  addresses(): string[];
  /** A snapshot of the counters. */
  stats(): ServerStats;
  /** A snapshot of the counters per family, with drops by reason. */
  detailedStats(): DetailedStats;
  /** State of the server for metrics: replies in flight, sockets, tracked and evicted rate-limit sources. */
  gauges(): ServerGauges;
  /** idempotent; closes every socket and stops re-scanning */
  close(): Promise<void>;
}

/** Point-in-time values of a running server. */
export interface ServerGauges {
  readonly inflight: number;
  readonly sockets: number;
  readonly trackedSources: number;
  readonly evictedSources: number;
}

/** What the server reads from the host, injectable so interface changes can be simulated in tests. */
export interface ServerEnvironment {
  /** Lists interfaces like os.networkInterfaces(). */
  readonly networkInterfaces: InterfaceLister;
}

/** Fresh ephemeral ports tried when port 0 is requested and a later address already has the first one taken. */
const EPHEMERAL_BIND_ATTEMPTS = 8;

interface Candidate {
  readonly address: string;
  /** Listed by the caller: failing to bind it is fatal, and re-scans never remove it. */
  readonly explicit: boolean;
}

/**
 * Starts the reference echo server on one port with loop protection on (loop ports, own port, and the loop
 * guard unless turned off): with the native I/O module (echo, and the loop guard, in C; replies from each
 * request's destination address) one wildcard socket per family for 'all', one socket per explicit
 * address, or the inherited descriptors; else (ECHOLOT_IO=dgram, or the module not built) one node:dgram
 * socket per address or inherited descriptor, the loop guard in loop-guard.ts.
 */
export function startReferenceServer(options?: ServeOptions): Promise<ReferenceServer> {
  return startReferenceServerIn(options, { networkInterfaces });
}

/** startReferenceServer with the host's interface list supplied by the caller. */
export async function startReferenceServerIn(
  options: ServeOptions | undefined,
  env: ServerEnvironment,
): Promise<ReferenceServer> {
  const resolved = resolveServeOptions(options);
  const native = nativeIo();
  if (native !== undefined) {
    // Loop and own ports are refused in C; JavaScript is called (once per batch) only for a policy beyond them.
    const policy = policyOf(resolved, refusedTable(resolved.loopPorts));
    const configured =
      resolved.allow.length > 0 ||
      resolved.deny.length > 0 ||
      resolved.rateLimit > 0 ||
      resolved.globalRateLimit > 0;
    const server = await startNativeServer(
      native,
      resolved,
      env.networkInterfaces,
      configured ? { policy: (batch) => applyPolicy(policy, batch) } : {},
    );
    return {
      io: 'native',
      ...server,
      detailedStats: () => server.detailedStats(),
      gauges: () => ({
        ...server.gauges(),
        trackedSources: policy.trackedSources(),
        evictedSources: policy.evictedSources(),
      }),
    };
  }
  const log = resolved.log;
  const refused = refusedTable(resolved.loopPorts);
  const core: EchoCore = {
    stats: emptyStats(),
    inflight: 0,
    maxInflight: resolved.maxInflight,
    refused,
    log,
    detailed: emptyDetailedStats(),
    policy: policyOf(resolved, refused),
    loopGuard: resolved.loopGuard ? createLoopGuard() : undefined,
  };
  // Socket activation: the service manager owns the addresses, so there is nothing to bind or re-scan.
  const activated = resolved.listenFds.length > 0;
  const scanAll = !activated && resolved.bind.includes(BIND_ALL);
  const explicit = resolved.bind.filter((a) => a !== BIND_ALL);
  const explicitKeys = new Set(explicit.map(key));

  const { port, sockets, failed } = activated
    ? await adoptInherited(core, resolved.listenFds)
    : await bindInitial(core, resolved, candidates(explicit, scanAll, env));

  let closed = false;
  let scan: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const rescan = async (): Promise<void> => {
    try {
      const wanted = new Map(localAddresses(env.networkInterfaces).map((a) => [key(a), a]));
      for (const [k, socket] of sockets) {
        if (explicitKeys.has(k) || wanted.has(k)) continue;
        sockets.delete(k);
        await socket.close();
        log('info', `address gone: stopped serving udp ${formatEndpoint(socket.address, port)}`);
      }
      for (const k of failed) if (!wanted.has(k)) failed.delete(k);
      for (const [k, address] of wanted) {
        if (closed) return;
        if (sockets.has(k)) continue;
        try {
          const socket = await bindEchoSocket(core, address, port);
          if (closed) {
            await socket.close();
            return;
          }
          sockets.set(k, socket);
          failed.delete(k);
          log('info', `address added: serving udp ${formatEndpoint(address, port)}`);
        } catch (err) {
          // Warn once per address: a tentative IPv6 address fails every scan until DAD completes.
          if (!failed.has(k)) log('warn', `address added but not served: ${messageOf(err)}`);
          failed.add(k);
        }
      }
    } catch (err) {
      log('error', `interface re-scan failed: ${messageOf(err)}`);
    } finally {
      // With no socket left nothing else keeps the process alive; the timer must, until an address returns.
      if (sockets.size === 0) timer?.ref();
      else timer?.unref();
    }
  };

  if (scanAll) {
    timer = setInterval(() => {
      if (closed || scan !== undefined) return;
      scan = rescan().finally(() => {
        scan = undefined;
      });
    }, resolved.rescanIntervalMs);
    timer.unref();
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    io: 'dgram',
    addresses: () => [...sockets.values()].map((s) => s.address),
    stats: () => ({ ...core.stats }),
    detailedStats: () => copyDetailedStats(core.detailed),
    gauges: () => ({
      inflight: core.inflight,
      sockets: sockets.size,
      trackedSources: core.policy.trackedSources(),
      evictedSources: core.policy.evictedSources(),
    }),
    close: () => {
      closing ??= (async () => {
        closed = true;
        clearInterval(timer);
        await scan;
        const all = [...sockets.values()];
        sockets.clear();
        await Promise.all(all.map((s) => s.close()));
      })();
      return closing;
    },
  };
}

function policyOf(resolved: ResolvedServeOptions, refused: Uint8Array): Policy {
  return createPolicy({ ...resolved, refused });
}

/** Asks the policy about every datagram of a native batch that C has not already dropped. */
function applyPolicy(policy: Policy, batch: PolicyBatch): void {
  // One clock reading per batch: the batch arrived in one wake-up.
  const now = performance.now();
  for (let i = 0; i < batch.count; i++) {
    if (batch.dropped(i)) continue;
    const verdict = policy.decide(batch.source(i), batch.port(i), batch.family, now);
    if (verdict !== ACCEPT) batch.drop(i, verdict);
  }
}

/** Explicit addresses first (their order decides which binds the ephemeral port), then every interface address. */
function candidates(explicit: readonly string[], scanAll: boolean, env: ServerEnvironment): Candidate[] {
  const out: Candidate[] = explicit.map((address) => ({ address, explicit: true }));
  if (scanAll) {
    const seen = new Set(explicit.map(key));
    for (const address of localAddresses(env.networkInterfaces)) {
      if (!seen.has(key(address))) out.push({ address, explicit: false });
    }
  }
  return out;
}

interface Bound {
  readonly port: number;
  readonly sockets: Map<string, EchoSocket>;
  /** Interface addresses that could not be bound (warned once; re-tried by re-scans). */
  readonly failed: Set<string>;
}

/**
 * Binds every candidate on one port. With port 0 the first socket picks the port and the rest follow it;
 * if a later address already has that port taken, everything is closed and a fresh port is tried.
 */
async function bindInitial(
  core: EchoCore,
  resolved: ResolvedServeOptions,
  list: Candidate[],
): Promise<Bound> {
  if (list.length === 0) {
    throw new HarnessError(
      'ERR_ECHOLOT_BIND',
      `cannot bind udp port ${resolved.port}: no local address found (os.networkInterfaces() lists none)`,
    );
  }
  let lastInUse: HarnessError | undefined;
  for (let attempt = 0; attempt < EPHEMERAL_BIND_ATTEMPTS; attempt++) {
    const sockets = new Map<string, EchoSocket>();
    const failed = new Set<string>();
    const warnings: string[] = [];
    let port = resolved.port;
    let firstFailure: HarnessError | undefined;
    let retry = false;
    for (const candidate of list) {
      try {
        const socket = await bindEchoSocket(core, candidate.address, port);
        sockets.set(key(candidate.address), socket);
        port = socket.port;
      } catch (err) {
        const error = asHarnessError(err);
        if (resolved.port === 0 && sockets.size > 0 && isErrno(error.cause, 'EADDRINUSE')) {
          lastInUse = error;
          retry = true;
          break;
        }
        // A missing privilege applies to every address alike: one clear error instead of a warning per address.
        if (candidate.explicit || error.code === 'ERR_ECHOLOT_BIND_PERMISSION') {
          await closeAll(sockets);
          throw error;
        }
        firstFailure ??= error;
        failed.add(key(candidate.address));
        warnings.push(`skipping ${candidate.address}: ${error.message}`);
      }
    }
    if (retry) {
      await closeAll(sockets);
      continue;
    }
    if (sockets.size === 0) {
      throw firstFailure ?? new HarnessError('ERR_ECHOLOT_BIND', `cannot bind udp port ${resolved.port}`);
    }
    for (const w of warnings) core.log('warn', w);
    return { port, sockets, failed };
  }
  throw new HarnessError(
    'ERR_ECHOLOT_BIND',
    `cannot bind one ephemeral udp port on every address (${list.map((c) => c.address).join(', ')}): ` +
      `${EPHEMERAL_BIND_ATTEMPTS} ports tried, each already in use at one address`,
    { cause: lastInUse },
  );
}

/** Serves every inherited descriptor; any that cannot be served is fatal, like an explicit address. */
async function adoptInherited(core: EchoCore, fds: readonly number[]): Promise<Bound> {
  const sockets = new Map<string, EchoSocket>();
  try {
    for (const inherited of inheritedSockets(fds)) {
      const socket = await bindEchoSocket(core, '', 0, inherited);
      // Two inherited sockets may share an address (different ports): keep both under distinct keys.
      sockets.set(`fd${inherited.fd}:${key(socket.address)}`, socket);
    }
  } catch (err) {
    await closeAll(sockets);
    throw err;
  }
  const ports = new Set([...sockets.values()].map((s) => s.port));
  return { port: ports.size === 1 ? [...ports][0]! : 0, sockets, failed: new Set() };
}

async function closeAll(sockets: Map<string, EchoSocket>): Promise<void> {
  await Promise.all([...sockets.values()].map((s) => s.close()));
  sockets.clear();
}

/** Identity of an address for de-duplication: IPv6 hex digits compare case-insensitively, scope names do not. */
function key(address: string): string {
  const at = address.indexOf('%');
  return at < 0 ? address.toLowerCase() : `${address.slice(0, at).toLowerCase()}${address.slice(at)}`;
}

function asHarnessError(err: unknown): HarnessError {
  return err instanceof HarnessError
    ? err
    : new HarnessError('ERR_ECHOLOT_INTERNAL', `unexpected bind failure: ${messageOf(err)}`, { cause: err });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
