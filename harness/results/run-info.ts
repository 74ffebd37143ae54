import type { Family } from '../protocol/constants.js';
import type { Capabilities } from '../net/capabilities.js';

/** Every datagram of a run, by class: what went out, what came back, and what else arrived. */
export interface DatagramAccounting {
  /** Requests sent, and their bytes. */
  readonly requests: number;
  readonly bytesSent: number;
  /** Replies matched to a request in time, on the socket that sent it, and their bytes. */
  readonly replies: number;
  readonly bytesReceived: number;
  /** Replies that came after their request's wait had ended. */
  readonly late: number;
  /** Further copies of a reply already received. */
  readonly duplicates: number;
  /** Replies to a request that reached another socket of the run. */
  readonly misdelivered: number;
  /** Datagrams to sockets the run had closed on purpose. */
  readonly stale: number;
  /** Datagrams from the target that match no request of the run. */
  readonly unmatched: number;
  /** Datagrams from elsewhere (not the target's, not blamed on it). */
  readonly foreign: number;
}

/** Who ran what against what: the header of every report. */
export interface RunInfo {
  readonly runId: string;
  readonly tool: { readonly name: 'echolot'; readonly version: string };
  readonly target: {
    /** As the user gave it, or "embedded reference server". */
    readonly input: string;
    readonly host: string;
    readonly address: string;
    readonly port: number;
    readonly family: Family;
    readonly embedded: boolean;
  };
  readonly options: {
    readonly strict: boolean;
    readonly selected: readonly string[];
    readonly seed?: number;
    readonly timeoutMs: number;
    readonly retries: number;
  };
  readonly platform: { readonly os: string; readonly node: string; readonly privileged: boolean };
  /** What the capability probe found before the cases (privilege, raw sockets, IPv6, sizes, aliases). */
  readonly capabilities?: Capabilities;
  /** Which datagram I/O path the harness used. */
  readonly ioPath: string;
  readonly preflight: { readonly rttMs: number; readonly note?: string };
  /** Every datagram of the run, by class (absent when no case ran). */
  readonly datagrams?: DatagramAccounting;
  /** Set when a signal stopped the run: its name ("SIGINT", "SIGTERM"); the run exits 128 + its number. */
  readonly interrupted?: string;
  /** Set when no case ran because the run could not start: at which stage, and why. */
  readonly notStarted?: { readonly stage: 'preflight'; readonly diagnosis: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
}
