/**
 * IPv4 UDP datagrams with a source or destination port that node:dgram (and the kernel's UDP
 * sockets) refuse: port 0. A small python3 helper writes the UDP header itself through a raw
 * socket (CAP_NET_RAW). The helper is inline so it ships inside dist/ with the rest of the harness.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';

/**
 * The python3 helper: `probe` sends and listens for replies to the source port; `relay` sends one
 * datagram per stdin line until stdin closes.
 */
const RAW_UDP_PY = String.raw`
import json, select, socket, struct, sys, time

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def segment(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, length)
    c = checksum(pseudo + struct.pack("!HHHH", sport, dport, length, 0) + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, c) + payload

def raw(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    s.bind((src, 0))
    return s

if sys.argv[1] == "relay":
    # One line per datagram on stdin: src sport dst dport hex (hex may be empty).
    sockets = {}
    for line in iter(sys.stdin.readline, ""):
        f = line.split()
        if len(f) < 4:
            continue
        src, sport, dst, dport = f[0], int(f[1]), f[2], int(f[3])
        payload = bytes.fromhex(f[4]) if len(f) > 4 else b""
        s = sockets.get(src) or sockets.setdefault(src, raw(src))
        s.sendto(segment(src, dst, sport, dport, payload), (dst, 0))
    sys.exit(0)

mode, src, sport, dst, dport, data, window = sys.argv[1:8]
sport, dport, window = int(sport), int(dport), int(window) / 1000.0
payload = bytes.fromhex(data)
s = raw(src)
s.sendto(segment(src, dst, sport, dport, payload), (dst, 0))
replies = []
deadline = time.monotonic() + window
while mode == "probe":
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([s], [], [], left)[0]:
        break
    pkt = s.recv(70000)
    ihl = (pkt[0] & 15) * 4
    if len(pkt) < ihl + 8 or pkt[9] != 17:
        continue
    a, b = socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20])
    sp, dp = struct.unpack("!HH", pkt[ihl:ihl + 4])
    # A raw socket sees every UDP datagram on the host: keep only the target's answers to our port.
    if a == dst and sp == dport and b == src and dp == sport:
        replies.append({"from": a, "port": sp, "hex": pkt[ihl + 8:].hex()})
print(json.dumps({"sent": len(payload), "replies": replies}))
`;
import type { Endpoint } from '../core/address.js';

/** The interpreter the helper runs under. */
const PYTHON = 'python3';

/** Extra time the helper may take beyond its listening window (interpreter start-up). */
const STARTUP_SLACK_MS = 5000;

/** One datagram the raw helper saw coming back to the source port. */
export interface RawReply {
  readonly from: Endpoint;
  readonly data: Buffer;
}

/** What a raw-socket probe found, or why it could not run. */
export type RawProbeResult =
  | { readonly kind: 'done'; readonly replies: readonly RawReply[] }
  | { readonly kind: 'error'; readonly reason: string };

/** A datagram to write through a raw socket. */
export interface RawDatagram {
  /** Local IPv4 address to send from (must be local: 127/8 on Linux counts). */
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly payload: Uint8Array;
}

let pythonChecked: boolean | undefined;

/** True when a python3 with the socket module runs here (checked once per process). */
export function pythonAvailable(): boolean {
  if (pythonChecked === undefined) {
    try {
      execFileSync(PYTHON, ['-c', 'import socket, select, struct, json'], { stdio: 'ignore', timeout: 5000 });
      pythonChecked = true;
    } catch {
      pythonChecked = false;
    }
  }
  return pythonChecked;
}

function runHelper(args: readonly string[], timeoutMs: number): Promise<RawProbeResult | string> {
  return new Promise((resolve) => {
    execFile(PYTHON, ['-c', RAW_UDP_PY, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        const last = stderr.trim().split('\n').at(-1) ?? '';
        resolve({ kind: 'error', reason: `raw-socket helper failed: ${last || err.message}` });
      } else {
        resolve(stdout);
      }
    });
  });
}

function helperArgs(d: RawDatagram, windowMs: number): string[] {
  return [
    'probe',
    d.from.address,
    String(d.from.port),
    d.to.address,
    String(d.to.port),
    Buffer.from(d.payload).toString('hex'),
    String(Math.max(0, Math.round(windowMs))),
  ];
}

/**
 * Sends `d` through a raw socket and collects, for `windowMs`, every datagram from `d.to` back to
 * `d.from` (address and port). Never throws: a helper failure is reported as `error`.
 */
export async function rawUdpProbe(d: RawDatagram, windowMs: number): Promise<RawProbeResult> {
  const out = await runHelper(helperArgs(d, windowMs), windowMs + STARTUP_SLACK_MS);
  if (typeof out !== 'string') return out;
  try {
    const doc = JSON.parse(out) as { replies: { from: string; port: number; hex: string }[] };
    return {
      kind: 'done',
      replies: doc.replies.map((r) => ({
        from: { address: r.from, port: r.port },
        data: Buffer.from(r.hex, 'hex'),
      })),
    };
  } catch {
    return { kind: 'error', reason: `raw-socket helper printed no result: '${out.slice(0, 120)}'` };
  }
}

/** A long-lived raw sender: one python3 process that writes every datagram handed to it. */
export interface RawSender {
  /** Queues one datagram; fire and forget (a fixture's reply, not a measurement). */
  send(d: RawDatagram): void;
  /** Ends the helper process. */
  close(): Promise<void>;
}

/** Starts a raw sender, so a fixture answers in microseconds instead of an interpreter start per datagram. */
export function startRawSender(): RawSender {
  const child = spawn(PYTHON, ['-c', RAW_UDP_PY, 'relay'], { stdio: ['pipe', 'ignore', 'ignore'] });
  child.on('error', () => undefined);
  child.stdin.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    send: (d) => {
      const hex = Buffer.from(d.payload).toString('hex');
      child.stdin.write(`${d.from.address} ${d.from.port} ${d.to.address} ${d.to.port} ${hex}\n`);
    },
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), STARTUP_SLACK_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
