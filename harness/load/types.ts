/** The contract of `echolot load`: options in, one LoadResult out (LOAD.md). */

/** ping-pong: closed loop, one outstanding probe per flow. rate: open loop on a fixed schedule. flood: as fast as a bounded window allows. */
export type LoadMode = 'ping-pong' | 'rate' | 'flood';

/** Inter-send times of rate mode: a fixed period, or exponential (Poisson arrivals). */
export type Arrival = 'constant' | 'poisson';

/** Options of a load run, as a caller gives them (all optional). */
export interface LoadOptions {
  /** `HOST:PORT` etc.; absent = start the reference server in a child process on loopback and load it. */
  target?: string;
  /** @defaultValue 'rate' */
  mode?: LoadMode;
  /** Measured time, ms (after warm-up). @defaultValue 10000 */
  durationMs?: number;
  /** Unmeasured time before the measurement, ms. @defaultValue 0 */
  warmupMs?: number;
  /** Offered datagrams per second over all flows (rate mode). @defaultValue 10000 */
  rate?: number;
  /** @defaultValue 'constant' */
  arrival?: Arrival;
  /** Payload sizes in bytes, used round-robin; each at least PROBE_HEADER_BYTES. @defaultValue [64] */
  sizes?: readonly number[];
  /** Client sockets, each on its own ephemeral port. @defaultValue 4 */
  flows?: number;
  /** Flood: outstanding probes per flow. @defaultValue 64 */
  window?: number;
  /** Wait after the last send for late replies before counting loss, ms. @defaultValue 1000 */
  drainMs?: number;
  /** SO_RCVBUF of each flow socket in bytes (tests set it tiny to provoke generator drops). @defaultValue OS default */
  rcvbufBytes?: number;
  /** Interval of the time series, ms. @defaultValue 1000 */
  intervalMs?: number;
  /** The user owns a non-loopback target: allows rates above the safety cap. @defaultValue false */
  ownTarget?: boolean;
  /**
   * Preflight a given target before any load (the preflight `check` runs): a target that does not
   * answer is ERR_ECHOLOT_UNREACHABLE (exit 69) with one diagnosis, not a run with 100% loss. The
   * embedded reference server is not preflighted. @defaultValue true
   */
  preflight?: boolean;
  /**
   * Send-lag p99 above which a rate run's generator counts as the bottleneck (it did not keep to the
   * schedule), us; the bound is never below 10% of the send period. @defaultValue 1000
   */
  maxLagUs?: number;
  /**
   * worker_threads that generate the load, each with its share of the flows and of the rate, its own
   * histograms and counters, merged by the main thread; 1 = in the main thread. At most `flows`. @defaultValue 1
   */
  workers?: number;
  /** Called once per interval with that interval's figures (progress, NDJSON). */
  onInterval?: (interval: IntervalStats) => void;
  /**
   * Ends the run early: once aborted, sending stops, the replies on their way are drained, and the
   * result is what was measured so far (`durationMs` the measured time, `interrupted` the reason).
   */
  signal?: AbortSignal;
}

/** Latency distribution in microseconds (from an HDR histogram). */
export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly p9999: number;
  readonly max: number;
  readonly mean: number;
  readonly stdev: number;
}

/** Counters per run (and per flow): LOAD.md "Counters". */
export interface LoadCounters {
  readonly sent: number;
  /** Every datagram received that carried this run's id, duplicates included. */
  readonly received: number;
  /** Distinct probes answered. */
  readonly unique: number;
  /** sent - unique, counted after the drain deadline. */
  readonly lost: number;
  /** Answered after the drain deadline started... or later than the late bound (counted, not in latency). */
  readonly late: number;
  /** RFC 5560 duplicates: further copies of an answered probe. */
  readonly duplicates: number;
  /** RFC 4737 reordered replies (never cancels loss), and the largest extent seen. */
  readonly reordered: number;
  readonly reorderExtentMax: number;
  /** Header intact but payload bytes differ. */
  readonly corrupted: number;
  /** Shorter than sent. */
  readonly truncated: number;
  /** Not a probe of this run (bad magic, other run id, unknown flow). */
  readonly foreign: number;
  /** ICMP errors reported on connected flow sockets. */
  readonly icmpErrors: number;
}

/** One interval of the time series. */
export interface IntervalStats {
  /** ms since the start of the measurement. */
  readonly atMs: number;
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  /** Echoes per second in this interval. */
  readonly echoRate: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

/** The generator's own health: drops in its sockets, send lag, whether it was the bottleneck. */
export interface GeneratorHealth {
  /**
   * Utilisation of the busiest generator thread, 0..1: of each worker (or the main thread) its event loop
   * or, when busier, its native data-plane thread (CPU time over its life); not counting the pacer's
   * polling for a close send time.
   */
  readonly eventLoopUtilization?: number;
  /** Sum of /proc/net/udp{,6} `drops` of the flow sockets (after - before). */
  readonly socketDrops: number;
  /** /proc/net/snmp Udp RcvbufErrors and SndbufErrors deltas (host-wide). */
  readonly rcvbufErrors: number;
  readonly sndbufErrors: number;
  /** True when the generator limited the result: then no server capacity is claimed. */
  readonly bottleneck: boolean;
  /** Why (drops, send lag p99 above the bound, CPU saturated). */
  readonly reasons: readonly string[];
}

/** What a load run measured. */
export interface LoadResult {
  readonly runId: string;
  readonly target: {
    readonly input: string;
    readonly address: string;
    readonly port: number;
    readonly embedded: boolean;
  };
  readonly mode: LoadMode;
  readonly options: Readonly<
    Required<Omit<LoadOptions, 'target' | 'onInterval' | 'signal' | 'rcvbufBytes' | 'preflight'>>
  > & {
    readonly rcvbufBytes?: number;
  };
  readonly startedAt: string;
  /** Measured time, ms: `options.durationMs`, or less when the run was interrupted. */
  readonly durationMs: number;
  /** Set when the run was interrupted (the reason, e.g. "SIGINT"): the figures cover `durationMs` only. */
  readonly interrupted?: string;
  readonly counters: LoadCounters;
  readonly perFlow: readonly LoadCounters[];
  /** Offered (scheduled) rate, achieved echo rate (unique per second) and actual send rate. */
  readonly rates: { readonly offered: number; readonly echoes: number; readonly sent: number };
  /** Headline: from the intended send time (coordinated-omission-correct). */
  readonly response: LatencySummary;
  /** From the actual send time. */
  readonly service: LatencySummary;
  /** Actual - intended send time: the generator's own lag. */
  readonly sendLag: LatencySummary;
  /** RFC 3550 interarrival jitter, microseconds. */
  readonly jitterUs: number;
  readonly intervals: readonly IntervalStats[];
  readonly generator: GeneratorHealth;
  /**
   * Loss split: the run's replies the generator's own sockets dropped vs the rest (network or server).
   * `note` says why drops were not (all) attributed to the generator: foreign datagrams filled its buffers.
   */
  readonly lossAttribution: {
    readonly generator: number;
    readonly networkOrServer: number;
    readonly note?: string;
  };
  /** Which datagram I/O path ran. */
  readonly ioPath: string;
}
