/** Counters of one reference server since it started. */
export interface ServerStats {
  /** Datagrams received on every socket. */
  received: number;
  /** Replies the kernel accepted (send callback without error). */
  echoed: number;
  /** Datagrams not answered because their source port is a loop port (or 0). */
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
