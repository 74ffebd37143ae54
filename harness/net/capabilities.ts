import { networkInterfaces, platform } from 'node:os';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { normalizeAddress } from '../core/address.js';
import { EchoClient } from './echo-client.js';
import { MAX_PAYLOAD_IPV4, MAX_PAYLOAD_IPV6, type Family } from '../protocol/constants.js';

/** What this client, platform and privilege allow; a case that needs more is UNSUPPORTED with the reason. */
export interface Capabilities {
  readonly os: NodeJS.Platform;
  readonly linux: boolean;
  /** Running as root (uid 0). */
  readonly root: boolean;
  /** May bind source ports below 1024 (root, CAP_NET_BIND_SERVICE, or a low ip_unprivileged_port_start). */
  readonly privileged: boolean;
  /** May open raw sockets (CAP_NET_RAW): needed to send from source port 0 (case 7.4). */
  readonly rawSockets: boolean;
  /** May create network namespaces and veth pairs (CAP_NET_ADMIN and the `ip` command): test hosts. */
  readonly netns: boolean;
  /** ::1 exists on this host. */
  readonly ipv6Loopback: boolean;
  /** 127.0.0.2 can be bound (Linux routes all of 127/8 to lo). */
  readonly loopbackAliases: boolean;
  /** Largest datagram this client could send to itself, per family (0 when the family is unavailable). */
  readonly maxDatagram: Readonly<Record<Family, number>>;
  /** Every address of every local interface, normalised. */
  readonly localAddresses: readonly string[];
  /** The OS ephemeral port range (Linux ip_local_port_range; IANA 49152..65535 elsewhere). */
  readonly ephemeralRange: readonly [number, number];
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readEphemeralRange(): [number, number] {
  const [lo, hi] = (readProc('/proc/sys/net/ipv4/ip_local_port_range') ?? '').trim().split(/\s+/).map(Number);
  if (lo !== undefined && hi !== undefined && lo > 0 && hi >= lo) return [lo, hi];
  return [49152, 65535];
}

/** Effective capability bits of this process (Linux), 0n elsewhere. */
function effectiveCapabilities(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readProc('/proc/self/status') ?? '');
  return m?.[1] ? BigInt(`0x${m[1]}`) : 0n;
}

const CAP_NET_BIND_SERVICE = 10n;
const CAP_NET_ADMIN = 12n;
const CAP_NET_RAW = 13n;

function hasIpCommand(): boolean {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore', timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}

/** The largest of `sizes` that a socket of `family` can send to itself on `address`. */
async function largestSendable(family: Family, address: string, max: number): Promise<number> {
  let client: EchoClient | undefined;
  try {
    client = await EchoClient.open({ family, bindAddress: address, bufferBytes: 1 << 20 });
    const self = client.local();
    for (const size of [max, 65000, 32768, 16384, 9216, 1472]) {
      try {
        await client.send(Buffer.alloc(size), self);
        return size;
      } catch {
        // EMSGSIZE: try the next smaller size.
      }
    }
    return 0;
  } catch {
    return 0;
  } finally {
    await client?.close();
  }
}

async function canBind(family: Family, address: string): Promise<boolean> {
  try {
    const c = await EchoClient.open({ family, bindAddress: address });
    await c.close();
    return true;
  } catch {
    return false;
  }
}

/** The facts that need no I/O: platform, privilege, addresses. */
export function staticCapabilities(): Omit<Capabilities, 'maxDatagram' | 'loopbackAliases'> {
  const addresses = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => normalizeAddress(i.address));
  const caps = effectiveCapabilities();
  const bit = (n: bigint): boolean => ((caps >> n) & 1n) === 1n;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const unprivilegedStart = Number(
    (readProc('/proc/sys/net/ipv4/ip_unprivileged_port_start') ?? '1024').trim(),
  );
  const linux = platform() === 'linux';
  return {
    os: platform(),
    linux,
    root,
    privileged: root || bit(CAP_NET_BIND_SERVICE) || unprivilegedStart <= 7,
    rawSockets: root || bit(CAP_NET_RAW),
    netns: linux && (root || bit(CAP_NET_ADMIN)) && hasIpCommand(),
    ipv6Loopback: addresses.includes('::1'),
    localAddresses: addresses,
    ephemeralRange: readEphemeralRange(),
  };
}

/** Probes every capability once per run, before the cases. */
export async function probeCapabilities(): Promise<Capabilities> {
  const base = staticCapabilities();
  const [v4, v6, aliases] = await Promise.all([
    largestSendable('IPv4', '127.0.0.1', MAX_PAYLOAD_IPV4),
    base.ipv6Loopback ? largestSendable('IPv6', '::1', MAX_PAYLOAD_IPV6) : Promise.resolve(0),
    base.linux ? canBind('IPv4', '127.0.0.2') : Promise.resolve(false),
  ]);
  return Object.freeze({
    ...base,
    loopbackAliases: aliases,
    maxDatagram: Object.freeze({ IPv4: v4, IPv6: v6 }),
  });
}
