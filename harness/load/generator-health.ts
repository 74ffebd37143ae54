/** The generator's own drops (LOAD.md "Who lost the datagram?"): /proc snapshots before and after a run. */
import { readFileSync } from 'node:fs';

/** Counters read from /proc at one moment. */
export interface ProcSnapshot {
  /** Sum of `drops` of the sockets matched (local port in the set, remote port as given). */
  readonly socketDrops: number;
  readonly rcvbufErrors: number;
  readonly sndbufErrors: number;
  /** False when /proc could not be read (not Linux): the figures are then 0 and mean nothing. */
  readonly available: boolean;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Sums the `drops` column of /proc/net/udp-style text for sockets on `localPorts` connected to `remotePort`. */
export function sumSocketDrops(text: string, localPorts: ReadonlySet<number>, remotePort?: number): number {
  let total = 0;
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const cols = (lines[i] ?? '').trim().split(/\s+/);
    if (cols.length < 13) continue;
    const local = cols[1] ?? '';
    const remote = cols[2] ?? '';
    const lport = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (!localPorts.has(lport)) continue;
    if (remotePort !== undefined) {
      const rport = parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16);
      if (rport !== remotePort) continue;
    }
    const drops = Number(cols[cols.length - 1]);
    if (Number.isFinite(drops)) total += drops;
  }
  return total;
}

/** Reads a named counter of the `Udp:` table of /proc/net/snmp-style text (header line, then values). */
export function snmpUdpCounter(text: string, name: string): number {
  const rows = text.split('\n').filter((l) => l.startsWith('Udp: '));
  const names = rows[0]?.split(/\s+/) ?? [];
  const values = rows[1]?.split(/\s+/) ?? [];
  const i = names.indexOf(name);
  return i > 0 ? Number(values[i] ?? 0) || 0 : 0;
}

/** Reads `name value` lines of /proc/net/snmp6-style text. */
export function snmp6Counter(text: string, name: string): number {
  const m = new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(text);
  return m?.[1] ? Number(m[1]) : 0;
}

/** Snapshots the drops of the flow sockets and the host-wide UDP buffer errors. */
export function snapshotProc(localPorts: ReadonlySet<number>, remotePort?: number): ProcSnapshot {
  const udp = read('/proc/net/udp');
  const udp6 = read('/proc/net/udp6');
  const snmp = read('/proc/net/snmp');
  const snmp6 = read('/proc/net/snmp6') ?? '';
  if (udp === undefined || snmp === undefined) {
    return { socketDrops: 0, rcvbufErrors: 0, sndbufErrors: 0, available: false };
  }
  return {
    socketDrops:
      sumSocketDrops(udp, localPorts, remotePort) + sumSocketDrops(udp6 ?? '', localPorts, remotePort),
    rcvbufErrors: snmpUdpCounter(snmp, 'RcvbufErrors') + snmp6Counter(snmp6, 'Udp6RcvbufErrors'),
    sndbufErrors: snmpUdpCounter(snmp, 'SndbufErrors') + snmp6Counter(snmp6, 'Udp6SndbufErrors'),
    available: true,
  };
}
