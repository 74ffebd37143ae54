/**
 * Impaired paths for self-tests: this host ── veth ── a bridge namespace ── veth ── a server
 * namespace. In the middle, impair-bridge.c (compiled on demand) forwards Ethernet frames with
 * packet sockets and, per direction, drops, delays with jitter, duplicates and reorders IPv4/IPv6
 * frames, each IP fragment on its own, every decision from one seed. It stands in for netem, which
 * a kernel may lack; it needs root, `ip` and `cc`. Both ends know each other's addresses as
 * permanent neighbours; link control (ARP, neighbour discovery, multicast) that still occurs, for
 * addresses added later, passes unimpaired.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { START_TIMEOUT_MS, waitForLine } from '../../harness/target/child-server.js';
import {
  freeSubnet,
  ip,
  trackTestHost,
  type HostProcess,
  type TestHost,
} from '../../harness/testhost/netns.js';

/** The bridge's C source in the repository (this module runs from dist/test/support/). */
const SOURCE = fileURLToPath(new URL('../../../test/support/impair-bridge.c', import.meta.url));

const CFLAGS = ['-O2', '-Wall', '-Wextra'];

/** Bound on the bridge's answer to one command; it answers at once unless it hangs. */
const COMMAND_TIMEOUT_MS = 5000;

/** Impairments of one direction; every field defaults to none. */
export interface Impairment {
  /** Probability of dropping a frame, 0..1. */
  readonly loss?: number;
  /** Base one-way delay, ms. */
  readonly delayMs?: number;
  /** Uniform jitter of ± this many ms around delayMs (never below 0); frames may reorder, as with netem. */
  readonly jitterMs?: number;
  /** Probability of sending a frame twice, 0..1. */
  readonly duplicate?: number;
  /** Probability of holding a frame back by reorderMs more, so that later frames overtake it, 0..1. */
  readonly reorder?: number;
  /** The extra hold of a reordered frame, ms. @defaultValue 10 */
  readonly reorderMs?: number;
}

/** Impairments per direction; a direction not given is unimpaired. */
export interface DirectionalImpairment {
  /** Frames from this host toward the server. */
  readonly toServer?: Impairment;
  /** Frames from the server toward this host. */
  readonly toClient?: Impairment;
}

/** One set of impairments for both directions, or one per direction. */
export type PathImpairment = Impairment | DirectionalImpairment;

/** How an impaired host is made. */
export interface ImpairedHostOptions {
  /** Seed of the bridge's PRNG (a safe integer >= 0). @defaultValue random; read it back from `seed` */
  readonly seed?: number;
  /** Further server addresses, as a count: 198.18.n.3, ... and 2001:2:0:n::3, ... @defaultValue 0 */
  readonly extraAddresses?: number;
  /** MTU of every veth. @defaultValue 1500 */
  readonly mtu?: number;
}

/** The bridge's counters for one direction; link control frames count only as `passed`. */
export interface DirectionStats {
  /** IPv4/IPv6 unicast frames read (the impaired traffic). */
  readonly seen: number;
  /** Impaired-traffic frames written out, duplicate copies included. */
  readonly forwarded: number;
  /** Frames lost on purpose. */
  readonly dropped: number;
  /** Frames sent twice. */
  readonly duplicated: number;
  /** Frames that went through the timer queue (delay, jitter or a reorder hold above 0). */
  readonly delayed: number;
  /** Frames held back so that later ones overtake them. */
  readonly reordered: number;
  /** Frames lost because the timer queue was full (its bound on memory). */
  readonly overflow: number;
  /** Frames the bridge failed to read or write. */
  readonly errors: number;
  /** Link control frames (ARP, neighbour discovery, multicast, broadcast) forwarded unimpaired. */
  readonly passed: number;
  /** Frames whose partial UDP/TCP checksum the bridge completed. */
  readonly checksummed: number;
  /** Frames the kernel dropped before the bridge read them (its socket buffer was full). */
  readonly socketDrops: number;
}

/** The bridge's counters. */
export interface BridgeStats {
  readonly toServer: DirectionStats;
  readonly toClient: DirectionStats;
  /** Frames held in the timer queue right now. */
  readonly queued: number;
}

/** A test host behind an impaired path; name and spawn() are the server namespace's. */
export interface ImpairedHost extends TestHost {
  /** Always present: fe80::1 on this host's end, fe80::2 on the server's. */
  readonly linkLocal: NonNullable<TestHost['linkLocal']>;
  /** The IPv6 side: one /64 from 2001:2::/48, ::1 here, ::2 (and more) in the server namespace. */
  readonly ipv6: {
    readonly hostAddress: string;
    readonly address: string;
    readonly addresses: readonly string[];
  };
  /** The bridge's seed (replay a run with it). */
  readonly seed: number;
  /** The namespace the bridge runs in. */
  readonly bridgeNamespace: string;
  /** The bridge's process id. */
  readonly bridgePid: number | undefined;
  /** The bridge's counters; after remove(), the ones it printed on exit. */
  stats(): Promise<BridgeStats>;
  /** Replaces the impairments of both directions; the PRNG streams go on where they are. */
  setImpairment(impairment: PathImpairment): Promise<void>;
}

let compiled: Promise<string> | undefined;

/** The bridge binary, compiled with `cc` once per source and flags into a cache in the temp directory. */
export function bridgeBinary(): Promise<string> {
  compiled ??= compileBridge().catch((err: unknown) => {
    compiled = undefined;
    throw err;
  });
  return compiled;
}

async function compileBridge(): Promise<string> {
  const source = await readFile(SOURCE);
  const hash = createHash('sha256').update(CFLAGS.join(' ')).update('\0').update(source).digest('hex');
  const dir = join(tmpdir(), 'echolot-impair-bridge', hash.slice(0, 16));
  const bin = join(dir, 'impair-bridge');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  // Built under a private name and renamed: a concurrent run sees the whole binary or none.
  const partial = `${bin}.${process.pid}.tmp`;
  try {
    await new Promise<void>((resolve, reject) => {
      execFile('cc', [...CFLAGS, '-o', partial, SOURCE], { timeout: 60_000 }, (err, _out, stderr) => {
        if (err) reject(new Error(`cc ${SOURCE}: ${stderr.trim() || err.message}`, { cause: err }));
        else resolve();
      });
    });
    await rename(partial, bin);
  } finally {
    await rm(partial, { force: true });
  }
  return bin;
}

const KEYS = [
  ['loss', 'loss', 1],
  ['duplicate', 'dup', 1],
  ['reorder', 'reorder', 1],
  ['delayMs', 'delay-ms', 60_000],
  ['jitterMs', 'jitter-ms', 60_000],
  ['reorderMs', 'reorder-ms', 60_000],
] as const;

/** The bridge's DIR.KEY=VALUE tokens for a full set of impairments; throws RangeError on a bad value. */
function bridgeTokens(impairment: PathImpairment): string[] {
  const perDirection = 'toServer' in impairment || 'toClient' in impairment;
  const both = impairment as Impairment;
  const directional = impairment as DirectionalImpairment;
  if (perDirection && KEYS.some(([field]) => both[field] !== undefined)) {
    throw new TypeError('give impairments either for both directions or per direction, not both');
  }
  const tokens: string[] = [];
  for (const [dir, imp] of [
    ['to-server', perDirection ? (directional.toServer ?? {}) : both],
    ['to-client', perDirection ? (directional.toClient ?? {}) : both],
  ] as const) {
    for (const [field, key, max] of KEYS) {
      const value = imp[field] ?? (field === 'reorderMs' ? 10 : 0);
      if (!Number.isFinite(value) || value < 0 || value > max) {
        throw new RangeError(`impairment ${field} must be within 0..${max}, not ${value}`);
      }
      tokens.push(`${dir}.${key}=${value}`);
    }
  }
  return tokens;
}

/** The index k (1..510) of a /24 from freeSubnet(): 198.18.k or 198.19.(k - 256). */
function subnetIndex(prefix: string): number {
  const [, second, third] = prefix.split('.').map(Number);
  return (second === 19 ? 256 : 0) + (third ?? 0);
}

/** The MAC address of `dev` (in the namespace that `ns`, ['-n', NAME] or [], selects). */
async function macOf(ns: readonly string[], dev: string): Promise<string> {
  const [link] = JSON.parse(await ip([...ns, '-j', 'link', 'show', 'dev', dev])) as { address?: string }[];
  if (!link?.address) throw new Error(`no MAC address for ${dev}`);
  return link.address;
}

/** Commands to a running bridge over its stdin, answers (one line each, in order) from its stdout. */
interface BridgeControl {
  request(command: string): Promise<Record<string, unknown>>;
  /** Resolves with the counters the bridge printed on exit, undefined if it printed none. */
  final(): Promise<BridgeStats | undefined>;
}

function controlBridge(bridge: HostProcess): BridgeControl {
  const { child } = bridge;
  const waiting: ((answer: Record<string, unknown> | Error) => void)[] = [];
  let exitStats: BridgeStats | undefined;
  let gone = false;
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.stdin?.on('error', () => undefined); // EPIPE once the bridge is gone; the exit handler reports that
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (msg['event'] === 'exit') exitStats = asStats(msg);
      // Lines printed on SIGUSR1 have no "reply"; they answer nobody here.
      else if (typeof msg['reply'] === 'number') waiting.shift()?.(msg);
    });
  }
  child.once('exit', (code, signal) => {
    gone = true;
    const err = new Error(`impair-bridge exited (${signal ?? `code ${String(code)}`})`);
    for (const w of waiting.splice(0)) w(err);
  });
  return {
    request: (command) =>
      new Promise((resolve, reject) => {
        if (gone || !child.stdin) {
          reject(new Error('impair-bridge is not running'));
          return;
        }
        // A late answer still takes its place in `waiting`, so later answers stay matched.
        const timer = setTimeout(
          () => reject(new Error(`impair-bridge: no answer to "${command}"`)),
          COMMAND_TIMEOUT_MS,
        );
        waiting.push((answer) => {
          clearTimeout(timer);
          if (answer instanceof Error) reject(answer);
          else resolve(answer);
        });
        child.stdin.write(`${command}\n`);
      }),
    final: async () => {
      await closed;
      return exitStats;
    },
  };
}

function asStats(msg: Record<string, unknown>): BridgeStats {
  const { toServer, toClient, queued } = msg as unknown as BridgeStats;
  return { toServer, toClient, queued };
}

let counter = 0;

/**
 * Makes a server namespace behind an impaired path and starts the bridge; on any failure, whatever
 * was made is removed again before rejecting. Needs root, `ip` and `cc`.
 */
export async function createImpairedHost(
  impairment: PathImpairment = {},
  options: ImpairedHostOptions = {},
): Promise<ImpairedHost> {
  const tokens = bridgeTokens(impairment);
  const seed = options.seed ?? randomInt(2 ** 31);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a safe integer >= 0: ${seed}`);
  }
  const mtu = options.mtu ?? 1500;
  const binary = await bridgeBinary();
  // Apart from createTestHost's echolot-<pid>-<n> and el<pid>-<n>h: "impair" is longer than any pid
  // in base 36, and "ei" names have no "-" ("_" would do too, but Node rejects it in a %scope).
  const pid = process.pid.toString(36);
  const n = (counter++).toString(36);
  const name = `echolot-impair-${pid}-${n}`;
  const bridgeNamespace = `${name}-bridge`;
  const hostInterface = `ei${pid}.${n}h`;
  const clientSide = `ei${pid}.${n}a`;
  const serverSide = `ei${pid}.${n}b`;
  const nsInterface = `ei${pid}.${n}n`;
  const tracked = trackTestHost({ name, namespaces: [name, bridgeNamespace], links: [hostInterface] });
  try {
    const m = String(mtu);
    await ip(['netns', 'add', name]);
    await ip(['netns', 'add', bridgeNamespace]);
    await ip([
      ...['-n', bridgeNamespace, 'link', 'add', serverSide, 'mtu', m, 'type', 'veth'],
      ...['peer', 'name', nsInterface, 'mtu', m, 'netns', name],
    ]);
    // The subnet is taken once this host's end has its address: the fewer steps in between, the
    // smaller the window in which another process could pick the same one.
    const prefix = await freeSubnet();
    await ip([
      ...['link', 'add', hostInterface, 'mtu', m, 'type', 'veth'],
      ...['peer', 'name', clientSide, 'mtu', m, 'netns', bridgeNamespace],
    ]);
    await ip(['addr', 'add', `${prefix}.1/24`, 'dev', hostInterface]);
    // The /64 follows the /24.
    const v6 = `2001:2:0:${subnetIndex(prefix).toString(16)}::`;
    const count = 1 + (options.extraAddresses ?? 0);
    const addresses = Array.from({ length: count }, (_, i) => `${prefix}.${i + 2}`);
    const v6Addresses = Array.from({ length: count }, (_, i) => `${v6}${(i + 2).toString(16)}`);
    const here: string[] = [];
    const bridgeNs = ['-n', bridgeNamespace];
    const server = ['-n', name];
    // No generated addresses anywhere: the bridge's ends stay silent, the others get static ones without DAD.
    for (const [ns, dev] of [
      [here, hostInterface],
      [bridgeNs, clientSide],
      [bridgeNs, serverSide],
      [server, nsInterface],
    ] as const) {
      await ip([...ns, 'link', 'set', dev, 'addrgenmode', 'none']);
    }
    await ip(['-6', 'addr', 'add', `${v6}1/64`, 'dev', hostInterface, 'nodad']);
    await ip(['-6', 'addr', 'add', 'fe80::1/64', 'dev', hostInterface, 'nodad']);
    for (const a of addresses) await ip([...server, 'addr', 'add', `${a}/24`, 'dev', nsInterface]);
    for (const a of v6Addresses)
      await ip([...server, '-6', 'addr', 'add', `${a}/64`, 'dev', nsInterface, 'nodad']);
    await ip([...server, '-6', 'addr', 'add', 'fe80::2/64', 'dev', nsInterface, 'nodad']);
    // Permanent neighbours: no first datagram waits in a resolution queue, whose flush can race the
    // next send and reorder the start of a burst, so a seed sees the same frame sequence every run.
    const hostMac = await macOf(here, hostInterface);
    const serverMac = await macOf(server, nsInterface);
    for (const a of [...addresses, ...v6Addresses, 'fe80::2']) {
      await ip(['neigh', 'replace', a, 'lladdr', serverMac, 'dev', hostInterface, 'nud', 'permanent']);
    }
    for (const a of [`${prefix}.1`, `${v6}1`, 'fe80::1']) {
      await ip([...server, 'neigh', 'replace', a, 'lladdr', hostMac, 'dev', nsInterface, 'nud', 'permanent']);
    }
    for (const [ns, dev] of [
      [here, hostInterface],
      [bridgeNs, clientSide],
      [bridgeNs, serverSide],
      [server, nsInterface],
      [server, 'lo'],
    ] as const) {
      await ip([...ns, 'link', 'set', dev, 'up']);
    }
    // The bridge checks that its parent is still this process, then dies with it.
    const args = [clientSide, serverSide, String(seed), String(process.pid), ...tokens];
    const bridge = tracked.spawn(binary, args, { namespace: bridgeNamespace, stdin: 'pipe' });
    const control = controlBridge(bridge);
    await waitForLine(bridge.child, /^\{"event":"ready".*$/m, START_TIMEOUT_MS);
    const host: ImpairedHost = {
      name,
      hostInterface,
      nsInterface,
      hostAddress: `${prefix}.1`,
      address: addresses[0] ?? `${prefix}.2`,
      addresses,
      linkLocal: {
        host: `fe80::1%${hostInterface}`,
        peer: `fe80::2%${hostInterface}`,
        inside: `fe80::2%${nsInterface}`,
      },
      ipv6: { hostAddress: `${v6}1`, address: v6Addresses[0] ?? `${v6}2`, addresses: v6Addresses },
      mtu,
      seed,
      bridgeNamespace,
      bridgePid: bridge.child.pid,
      spawn: (command, args) => tracked.spawn(command, args),
      remove: () => tracked.remove(),
      stats: async () => {
        if (bridge.child.exitCode === null && bridge.child.signalCode === null) {
          return asStats(await control.request('stats'));
        }
        const final = await control.final();
        if (!final) throw new Error('impair-bridge exited without printing its counters');
        return final;
      },
      setImpairment: async (next) => {
        const answer = await control.request(`set ${bridgeTokens(next).join(' ')}`);
        if (typeof answer['error'] === 'string') throw new Error(`impair-bridge: ${answer['error']}`);
      },
    };
    return host;
  } catch (err) {
    await tracked.remove();
    throw err;
  }
}

/** True when a C compiler (cc) is on PATH: the bridge is compiled on demand. */
export function hasCompiler(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
