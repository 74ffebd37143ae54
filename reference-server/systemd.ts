import { readFileSync, readlinkSync } from 'node:fs';
import { HarnessError } from '../harness/errors.js';
import type { InheritedSocket } from './echo-socket.js';

/** The first descriptor the service manager passes (sd_listen_fds(3): SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/** Descriptors passed by systemd socket activation, with the names of the .socket unit (FileDescriptorName=). */
export interface ListenFds {
  readonly fds: readonly number[];
  readonly names: readonly string[];
}

/**
 * Reads LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES as sd_listen_fds(3) does: the descriptors are ours only when
 * LISTEN_PID names this process (a child that inherited the environment must not take them).
 * Returns undefined when the process was not socket-activated.
 */
export function listenFdsFromEnv(env: NodeJS.ProcessEnv, pid: number): ListenFds | undefined {
  const pidText = env['LISTEN_PID'];
  const countText = env['LISTEN_FDS'];
  if (pidText === undefined || countText === undefined) return undefined;
  if (!/^\d+$/.test(pidText) || Number(pidText) !== pid) return undefined;
  if (!/^\d+$/.test(countText)) {
    throw new HarnessError('ERR_ECHOLOT_USAGE', `LISTEN_FDS ${countText}: must be a count of descriptors`);
  }
  const count = Number(countText);
  if (count === 0) return undefined;
  const fds = Array.from({ length: count }, (_, i) => LISTEN_FDS_START + i);
  const names = (env['LISTEN_FDNAMES'] ?? '').split(':');
  return { fds, names: fds.map((_, i) => names[i] ?? '') };
}

/** Removes the activation variables, so processes we start do not mistake our descriptors for theirs. */
export function clearListenEnv(env: NodeJS.ProcessEnv): void {
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDS'];
  delete env['LISTEN_FDNAMES'];
}

/**
 * Finds the family of each inherited descriptor: node:dgram must know udp4 or udp6 before it wraps a
 * descriptor, and only the kernel's socket tables (/proc/net/udp, /proc/net/udp6) say which it is.
 */
export function inheritedSockets(fds: readonly number[]): InheritedSocket[] {
  const udp4 = socketInodes('/proc/net/udp');
  const udp6 = socketInodes('/proc/net/udp6');
  return fds.map((fd) => {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      throw new HarnessError('ERR_ECHOLOT_BIND', `socket activation: descriptor ${fd} is not open`);
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && udp4.has(inode)) return { fd, type: 'udp4' };
    if (inode !== undefined && udp6.has(inode)) return { fd, type: 'udp6' };
    throw new HarnessError(
      'ERR_ECHOLOT_BIND',
      `socket activation: descriptor ${fd} (${target}) is not a UDP socket: use ListenDatagram= in the .socket unit`,
    );
  });
}

function socketInodes(table: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(table, 'utf8');
  } catch {
    return new Set();
  }
  const inodes = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    const inode = line.trim().split(/\s+/)[9];
    if (inode !== undefined) inodes.add(inode);
  }
  return inodes;
}
