/**
 * Which local process owns a UDP port, and its resident memory and descriptor count (Linux /proc),
 * for the soak case: a server that leaks per-client state shows it here.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import type { Family } from '../protocol/constants.js';
import { normalizeAddress } from '../core/address.js';
import type { Endpoint } from '../core/address.js';

/** The process that holds a UDP socket, or why none was found. */
export type SocketOwner =
  | { readonly kind: 'found'; readonly pid: number; readonly inode: string; readonly bound: string }
  | { readonly kind: 'none'; readonly reason: string };

/** Resident memory and open descriptors of one process. */
export interface ProcessStats {
  readonly pid: number;
  readonly rssKiB: number;
  readonly fds: number;
}

/** Upper bound on processes scanned for the socket's inode, so a crowded host cannot stall a case. */
const MAX_PROCESSES = 5000;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Decodes /proc/net/udp{,6} `ADDR:PORT` (address words in host byte order, port big-endian hex). */
export function decodeProcAddress(field: string): { address: string; port: number } | undefined {
  const [hex, portHex] = field.split(':');
  if (!hex || !portHex || (hex.length !== 8 && hex.length !== 32)) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  if (endianness() === 'LE') for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  const port = Number.parseInt(portHex, 16);
  if (bytes.length === 4) return { address: [...bytes].join('.'), port };
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  return { address: normalizeAddress(groups.join(':')), port };
}

/**
 * Finds the socket bound to `target` (exactly, or the wildcard of its family) in /proc/net/udp and
 * udp6 of this network namespace, then the process whose fd table holds that socket's inode. With
 * `pid` (a server in another network namespace), the sockets are those of that process's
 * namespace (/proc/PID/net/udp) and that process is asked first.
 */
export function findUdpOwner(target: Endpoint, family: Family, pid?: number): SocketOwner {
  const want = normalizeAddress(target.address);
  const candidates: { inode: string; bound: string; exact: boolean }[] = [];
  const net = pid === undefined ? '/proc/net' : `/proc/${pid}/net`;
  if (pid !== undefined && read(`/proc/${pid}/status`) === undefined) {
    return { kind: 'none', reason: `no process ${pid} (--target-pid) on this host` };
  }
  for (const file of family === 'IPv4' ? [`${net}/udp`, `${net}/udp6`] : [`${net}/udp6`]) {
    const text = read(file);
    if (text === undefined) continue;
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1] ? decodeProcAddress(cols[1]) : undefined;
      const inode = cols[9];
      if (!local || !inode || inode === '0' || local.port !== target.port) continue;
      const a = local.address;
      const exact = a === want;
      if (exact || a === '0.0.0.0' || a === '::') candidates.push({ inode, bound: a, exact });
    }
  }
  if (candidates.length === 0) {
    return {
      kind: 'none',
      reason: `no UDP socket bound to port ${target.port} in ${pid === undefined ? "this host's /proc/net/udp" : `${net}/udp (the network namespace of --target-pid ${pid})`}`,
    };
  }
  candidates.sort((x, y) => Number(y.exact) - Number(x.exact));
  const byInode = new Map(candidates.map((c) => [`socket:[${c.inode}]`, c]));
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return { kind: 'none', reason: 'cannot list /proc' };
  }
  // The given process first, else our own: the embedded reference server and in-process fixtures live here.
  const first = String(pid ?? process.pid);
  pids.sort((a, b) => Number(b === first) - Number(a === first));
  for (const pid of pids.slice(0, MAX_PROCESSES)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const hit = byInode.get(link);
      if (hit) return { kind: 'found', pid: Number(pid), inode: hit.inode, bound: hit.bound };
    }
  }
  return {
    kind: 'none',
    reason: `the socket on port ${target.port} (inode ${candidates[0]?.inode}) belongs to no process this user can inspect`,
  };
}

/** RSS (VmRSS) and open descriptors of `pid`, or undefined when the process is gone or unreadable. */
export function processStats(pid: number): ProcessStats | undefined {
  const status = read(`/proc/${pid}/status`);
  const rss = status === undefined ? undefined : /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (rss === undefined) return undefined;
  try {
    return { pid, rssKiB: Number(rss), fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}
