/**
 * The wire witness: what the target actually sends, seen on the interface that reaches it. Where
 * the harness may open a packet socket (CAP_NET_RAW) and the target is reached through a local
 * interface (loopback, a test host's veth), a small python3 helper watches that interface for UDP
 * datagrams from the target's address and port, wherever they go. When nothing comes back to the
 * client, this shows whether the server is silent or sends its replies elsewhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { formatEndpoint, normalizeAddress, type Endpoint } from '../core/address.js';
import { pythonAvailable } from './raw-udp.js';

/**
 * The helper: binds a packet socket to one interface, prints "ready", then records every UDP
 * datagram (IPv4 or IPv6, first fragments included) from ADDR:PORT until stdin closes, and prints
 * them as one JSON line. Outgoing copies on loopback are skipped (each datagram is seen once).
 */
const WITNESS_PY = String.raw`
import json, select, socket, struct, sys
iface, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
print("ready", flush=True)
seen = []
def ipv6(b):
    return socket.inet_ntop(socket.AF_INET6, b)
while True:
    r, _, _ = select.select([s, sys.stdin], [], [], 1.0)
    if sys.stdin in r:
        break
    if s not in r:
        continue
    pkt, meta = s.recvfrom(70000)
    if meta[2] == socket.PACKET_OUTGOING or len(pkt) < 14:
        continue
    etype = struct.unpack("!H", pkt[12:14])[0]
    p = pkt[14:]
    if etype == 0x0800 and len(p) >= 20 and p[9] == 17:
        ihl = (p[0] & 15) * 4
        if struct.unpack("!H", p[6:8])[0] & 0x1FFF:
            continue
        src, dst, u = socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20]), p[ihl:]
    elif etype == 0x86DD and len(p) >= 40 and p[6] == 17:
        src, dst, u = ipv6(p[8:24]), ipv6(p[24:40]), p[40:]
    else:
        continue
    if len(u) < 8:
        continue
    sp, dp, ln = struct.unpack("!HHH", u[0:6])
    if src == addr and sp == port and len(seen) < 500:
        seen.append({"to": dst, "port": dp, "length": max(0, ln - 8)})
print(json.dumps(seen), flush=True)
`;

/** One datagram the target sent, as the witness saw it on the wire. */
export interface WitnessedDatagram {
  readonly to: Endpoint;
  readonly length: number;
}

/** A running witness: `stop()` ends it and returns what it saw. */
export interface WireWitness {
  stop(): Promise<readonly WitnessedDatagram[]>;
}

/** Bound on the helper's start-up and on its last words after stdin closes. */
const HELPER_MS = 5000;

/**
 * Starts watching `iface` for datagrams from `target`. Resolves to undefined when the helper cannot
 * run here (no python3, no permission for a packet socket, no such interface): the witness is
 * evidence when it is there, never a condition of a check.
 */
export async function startWireWitness(iface: string, target: Endpoint): Promise<WireWitness | undefined> {
  if (!pythonAvailable()) return undefined;
  const address = normalizeAddress(target.address);
  const child: ChildProcess = spawn('python3', ['-c', WITNESS_PY, iface, address, String(target.port)], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), HELPER_MS);
    const check = (): void => {
      if (out.startsWith('ready\n')) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout?.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ready) {
    child.kill('SIGKILL');
    return undefined;
  }
  return {
    stop: async () => {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_MS);
      await exited;
      clearTimeout(timer);
      try {
        const list = JSON.parse(out.slice('ready\n'.length).trim() || '[]') as {
          to: string;
          port: number;
          length: number;
        }[];
        return list.map((d) => ({ to: { address: d.to, port: d.port }, length: d.length }));
      } catch {
        return [];
      }
    },
  };
}

/** What the witness saw, in one phrase: where the target's datagrams went, by destination. */
export function witnessPhrase(seen: readonly WitnessedDatagram[]): string {
  if (seen.length === 0) return 'the wire shows nothing sent from the target';
  const counts = new Map<string, number>();
  for (const d of seen) {
    const key = formatEndpoint(d.to.address, d.to.port);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const list = [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([to, n]) => `${n} to ${to}`)
    .join(', ');
  return `the wire shows ${seen.length} datagram${seen.length === 1 ? '' : 's'} from the target: ${list}`;
}
