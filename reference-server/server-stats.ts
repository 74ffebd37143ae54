/** Counters of one reference server since it started. */
export interface ServerStats {
  /** Datagrams received on every socket. */
  received: number;
  /** Replies the kernel accepted (send callback without error). */
  echoed: number;
  /** Datagrams not answered by policy: loop port, own port, access control, a rate limit or the loop guard. */
  droppedByPolicy: number;
  /** Datagrams not answered because maxInflight replies were already in flight. */
  droppedQueueFull: number;
  /** Socket 'error' events plus failed sends. */
  errors: number;
  /** Payload bytes received. */
  bytesIn: number;
  /** Payload bytes the kernel accepted for sending. */
  bytesOut: number;
}

/** Why a datagram was not answered. */
export type DropReason =
  | 'loop-port'
  | 'own-port'
  | 'destination'
  | 'denied'
  | 'not-allowed'
  | 'rate-source'
  | 'rate-global'
  | 'echo-loop'
  | 'queue-full';

/** Every drop reason, in the order reports list them. */
export const DROP_REASONS: readonly DropReason[] = Object.freeze([
  'loop-port',
  'own-port',
  'destination',
  'denied',
  'not-allowed',
  'rate-source',
  'rate-global',
  'echo-loop',
  'queue-full',
]);

/** Address family of a server socket, as node:dgram names it. */
export type SocketFamily = 'udp4' | 'udp6';

/** Counters of one address family. */
export interface FamilyStats {
  received: number;
  echoed: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
  /** Drops by reason. */
  readonly dropped: Record<DropReason, number>;
}

/** Counters per family plus the totals every backend also keeps up to date. */
export interface DetailedStats {
  readonly udp4: FamilyStats;
  readonly udp6: FamilyStats;
}

/** A zeroed, mutable counter set for the server's own bookkeeping. */
export function emptyStats(): ServerStats {
  return {
    received: 0,
    echoed: 0,
    droppedByPolicy: 0,
    droppedQueueFull: 0,
    errors: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
}

function emptyFamily(): FamilyStats {
  const dropped = {} as Record<DropReason, number>;
  for (const r of DROP_REASONS) dropped[r] = 0;
  return { received: 0, echoed: 0, bytesIn: 0, bytesOut: 0, errors: 0, dropped };
}

/** A zeroed per-family counter set. */
export function emptyDetailedStats(): DetailedStats {
  return { udp4: emptyFamily(), udp6: emptyFamily() };
}

/** A deep copy, so callers can diff snapshots. */
export function copyDetailedStats(d: DetailedStats): DetailedStats {
  const copy = (f: FamilyStats): FamilyStats => ({ ...f, dropped: { ...f.dropped } });
  return { udp4: copy(d.udp4), udp6: copy(d.udp6) };
}

/**
 * What a socket backend calls on its per-datagram path: updates the family's counters and the totals
 * together, so every backend (node:dgram or native) feeds the summary and the metrics the same way.
 */
export class StatsRecorder {
  private readonly totals: ServerStats;
  private readonly family: FamilyStats;

  constructor(totals: ServerStats, family: FamilyStats) {
    this.totals = totals;
    this.family = family;
  }

  /** One datagram of `bytes` received. */
  received(bytes: number): void {
    this.totals.received++;
    this.totals.bytesIn += bytes;
    this.family.received++;
    this.family.bytesIn += bytes;
  }

  /** One reply of `bytes` accepted by the kernel. */
  echoed(bytes: number): void {
    this.totals.echoed++;
    this.totals.bytesOut += bytes;
    this.family.echoed++;
    this.family.bytesOut += bytes;
  }

  /** One datagram not answered, and why. */
  dropped(reason: DropReason): void {
    if (reason === 'queue-full') this.totals.droppedQueueFull++;
    else this.totals.droppedByPolicy++;
    this.family.dropped[reason]++;
  }

  /** One socket error or failed send. */
  error(): void {
    this.totals.errors++;
    this.family.errors++;
  }
}
