/**
 * Defaults, limits and mode rules of load options, in one place (LoadOptions -> ResolvedLoadOptions).
 * Every problem names the API field (`durationMs`, `sizes[2]`); the CLI turns that into its flag.
 */
import { throwIfProblems, validationError, type Problem } from '../errors.js';
import { MAX_PAYLOAD_IPV6, maxPayload, type Family } from '../protocol/constants.js';
import { MAX_FLOW_ID, PROBE_HEADER_BYTES } from '../protocol/probe-codec.js';
import type { Target } from '../target/acquire.js';
import { ownsTarget } from '../target/ownership.js';
import type { LoadMode, LoadOptions, LoadResult } from './types.js';

/** Every default of a load run. */
export const LOAD_DEFAULTS = Object.freeze({
  mode: 'rate',
  durationMs: 10_000,
  warmupMs: 0,
  rate: 10_000,
  arrival: 'constant',
  sizes: Object.freeze([64]) as readonly number[],
  flows: 4,
  window: 64,
  drainMs: 1000,
  intervalMs: 1000,
  ownTarget: false,
  workers: 1,
  maxLagUs: 1000,
} as const);

/**
 * IP packets per second on the wire (every fragment counted) above which a non-loopback target needs
 * ownTarget (`--i-own-the-target`).
 */
export const SAFE_RATE_CAP = 1000;

/** Bytes per second on the wire (IP and UDP headers included) above which a non-loopback target needs ownTarget. */
export const SAFE_BYTE_CAP = 1_500_000;

/** The path MTU assumed when the route's is not known (Ethernet). */
export const DEFAULT_MTU = 1500;

/**
 * Bounds [min, max] of the numeric options, integers except `rate` (the CLI's help gives the same ranges).
 * A measurement shorter than the shortest interval (100 ms) would have no time series and, on a busy
 * machine, percentiles made of scheduling noise: durationMs starts where intervalMs and a search's trialMs do.
 */
export const LOAD_LIMITS = Object.freeze({
  durationMs: [100, 24 * 3_600_000],
  warmupMs: [0, 3_600_000],
  rate: [1e-3, 10_000_000],
  sizes: [PROBE_HEADER_BYTES, MAX_PAYLOAD_IPV6],
  flows: [1, Math.min(1024, MAX_FLOW_ID + 1)],
  window: [1, 65_536],
  drainMs: [0, 60_000],
  intervalMs: [100, 60_000],
  rcvbufBytes: [1, 1 << 30],
  workers: [1, 64],
  maxLagUs: [1, 60_000_000],
} as const satisfies Record<string, readonly [number, number]>);

/** Most intervals one run may have (each keeps its own histogram). */
export const MAX_INTERVALS = 100_000;

/** The modes of `runLoad`. */
export const LOAD_MODES: readonly LoadMode[] = Object.freeze(['ping-pong', 'rate', 'flood']);

/** A load run's mode, or 'search': runSearch, whose trials are rate runs. */
export type PlanMode = LoadMode | 'search';

/**
 * The options that apply in some modes only; given in another mode they are refused rather than
 * silently ignored. 'search' stands for the trials of a search (rate runs of `search.trialMs` each).
 */
const MODE_BOUND: Readonly<
  Partial<Record<keyof LoadOptions, { readonly modes: readonly PlanMode[]; readonly why?: string }>>
> = {
  rate: { modes: ['rate', 'search'] },
  arrival: { modes: ['rate', 'search'] },
  maxLagUs: { modes: ['rate', 'search'] },
  window: { modes: ['flood'] },
  durationMs: { modes: ['ping-pong', 'rate', 'flood'], why: 'each trial lasts `search.trialMs`' },
};

const ARRIVALS = ['constant', 'poisson'] as const;

/** A mode list as problem messages say it: "rate and search". */
const modeList = (modes: readonly string[]): string =>
  modes.length === 1 ? (modes[0] ?? '') : `${modes.slice(0, -1).join(', ')} and ${modes[modes.length - 1]}`;

/** Options with every default applied and every value checked. */
export type ResolvedLoadOptions = LoadResult['options'] & {
  readonly target?: string;
  readonly onInterval?: LoadOptions['onInterval'];
  readonly signal?: AbortSignal;
};

/** Hooks of runLoad, not part of the public contract: test stalls, and the schedule of one shard (shard.ts). */
export interface LoadInternals {
  /** Blocks the generator's event loop once, for stallMs, at this many ms into the measurement. */
  readonly stallAtMs?: number;
  readonly stallMs?: number;
  /** Constant arrivals: the schedule starts this many ns after t0 (a shard's phase in the whole run's schedule). */
  readonly phaseNs?: number;
  /** Poisson arrivals: seed of the inter-send times (each thread derives its own from it); absent: Math.random. */
  readonly seed?: string;
  /** The start t0 as an absolute time, epoch ms (`--start-at`); absent: as soon as the flows are open. */
  readonly startAtEpochMs?: number;
  /** The rate the safety cap judges when it is not this run's own: a shard is judged by the whole run's rate. */
  readonly safetyRate?: number;
  /** Native I/O path: account the replies in JavaScript from C's rows instead of in C (comparisons, A/B). */
  readonly jsAccounting?: boolean;
  /** Native window mode accounted in C: false keeps the closed loops on the thread's loop instead of the data plane (A/B). */
  readonly plane?: boolean;
}

/**
 * Every problem of `options` for a run in `mode` (undefined: a mode that is itself wrong, so only the
 * rules that hold in every mode are checked). The mode field itself is the caller's to check.
 */
export function loadOptionProblems(options: LoadOptions, mode: PlanMode | undefined): Problem[] {
  const problems: Problem[] = [];
  const refused = new Set<string>();
  if (mode !== undefined) {
    for (const [field, rule] of Object.entries(MODE_BOUND)) {
      const value = options[field as keyof LoadOptions];
      if (value === undefined || rule.modes.includes(mode)) continue;
      refused.add(field);
      problems.push({
        path: field,
        value,
        message:
          rule.why !== undefined && mode === 'search'
            ? `does not apply to \`mode\` search: ${rule.why}`
            : `applies to \`mode\` ${modeList(rule.modes)} only, not to \`mode\` ${mode}`,
      });
    }
  }
  const int = (field: keyof typeof LOAD_LIMITS & keyof LoadOptions, value: unknown): void => {
    const [lo, hi] = LOAD_LIMITS[field];
    if (refused.has(field)) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
      problems.push({ path: field, value, message: `must be an integer in ${lo}..${hi}`, range: [lo, hi] });
    }
  };
  const arrival = options.arrival ?? LOAD_DEFAULTS.arrival;
  if (!refused.has('arrival') && !(ARRIVALS as readonly string[]).includes(arrival)) {
    problems.push({ path: 'arrival', value: arrival, message: `must be one of ${ARRIVALS.join(', ')}` });
  }
  const durationMs = options.durationMs ?? LOAD_DEFAULTS.durationMs;
  int('durationMs', durationMs);
  int('warmupMs', options.warmupMs ?? LOAD_DEFAULTS.warmupMs);
  const rate = options.rate ?? LOAD_DEFAULTS.rate;
  const [rLo, rHi] = LOAD_LIMITS.rate;
  if (
    !refused.has('rate') &&
    (typeof rate !== 'number' || !Number.isFinite(rate) || rate < rLo || rate > rHi)
  ) {
    problems.push({
      path: 'rate',
      value: rate,
      message: `must be a number of datagrams per second in ${rLo}..${rHi}`,
      range: [rLo, rHi],
    });
  }
  const sizes: unknown = options.sizes ?? LOAD_DEFAULTS.sizes;
  if (!Array.isArray(sizes) || sizes.length === 0) {
    problems.push({ path: 'sizes', value: sizes, message: 'must list at least one size' });
  } else {
    const [lo, hi] = LOAD_LIMITS.sizes;
    sizes.forEach((s: unknown, i) => {
      if (typeof s !== 'number' || !Number.isInteger(s) || s < lo || s > hi) {
        problems.push({
          path: `sizes[${i}]`,
          value: s,
          message: `must be an integer in ${lo}..${hi} (the probe header needs ${PROBE_HEADER_BYTES} bytes)`,
          range: [lo, hi],
        });
      }
    });
  }
  const flows = options.flows ?? LOAD_DEFAULTS.flows;
  int('flows', flows);
  int('window', options.window ?? LOAD_DEFAULTS.window);
  int('drainMs', options.drainMs ?? LOAD_DEFAULTS.drainMs);
  const intervalMs = options.intervalMs ?? LOAD_DEFAULTS.intervalMs;
  int('intervalMs', intervalMs);
  if (
    Number.isInteger(durationMs) &&
    Number.isInteger(intervalMs) &&
    intervalMs > 0 &&
    Math.ceil(durationMs / intervalMs) > MAX_INTERVALS
  ) {
    problems.push({
      path: 'intervalMs',
      value: intervalMs,
      message: `must be longer: \`durationMs\` would have more than ${MAX_INTERVALS} intervals`,
    });
  }
  const workers = options.workers ?? LOAD_DEFAULTS.workers;
  int('workers', workers);
  const flowsValid = !problems.some((p) => p.path === 'flows');
  if (flowsValid && Number.isInteger(workers) && workers > flows) {
    problems.push({
      path: 'workers',
      value: workers,
      message: `must be at most \`flows\` (${flows}); each worker needs a flow`,
    });
  }
  int('maxLagUs', options.maxLagUs ?? LOAD_DEFAULTS.maxLagUs);
  if (options.rcvbufBytes !== undefined) int('rcvbufBytes', options.rcvbufBytes);
  if (options.target !== undefined && (typeof options.target !== 'string' || options.target.trim() === '')) {
    problems.push({ path: 'target', value: options.target, message: 'must be HOST:PORT' });
  }
  if (options.ownTarget !== undefined && typeof options.ownTarget !== 'boolean') {
    problems.push({ path: 'ownTarget', value: options.ownTarget, message: 'must be true or false' });
  }
  if (options.preflight !== undefined && typeof options.preflight !== 'boolean') {
    problems.push({ path: 'preflight', value: options.preflight, message: 'must be true or false' });
  }
  if (options.onInterval !== undefined && typeof options.onInterval !== 'function') {
    problems.push({ path: 'onInterval', value: options.onInterval, message: 'must be a function' });
  }
  return problems;
}

/** The problem of a `mode` that is not one of `modes` (undefined when it is). */
export function modeProblem(mode: unknown, modes: readonly string[], hint = ''): Problem | undefined {
  if (typeof mode === 'string' && modes.includes(mode)) return undefined;
  return { path: 'mode', value: mode, message: `must be one of ${modes.join(', ')}${hint}` };
}

/**
 * Applies the defaults and validates; throws one ERR_ECHOLOT_USAGE whose `problems` list every problem,
 * each naming the field, the rule and the value received.
 */
export function resolveLoadOptions(options: LoadOptions = {}): ResolvedLoadOptions {
  const mode = options.mode ?? LOAD_DEFAULTS.mode;
  const wrongMode = modeProblem(
    mode,
    LOAD_MODES,
    (mode as string) === 'search' ? ' (a search runs with runSearch)' : '',
  );
  throwIfProblems([
    ...(wrongMode === undefined ? [] : [wrongMode]),
    ...loadOptionProblems(options, wrongMode === undefined ? mode : undefined),
  ]);
  return Object.freeze({
    mode,
    durationMs: options.durationMs ?? LOAD_DEFAULTS.durationMs,
    warmupMs: options.warmupMs ?? LOAD_DEFAULTS.warmupMs,
    rate: options.rate ?? LOAD_DEFAULTS.rate,
    arrival: options.arrival ?? LOAD_DEFAULTS.arrival,
    sizes: Object.freeze([...(options.sizes ?? LOAD_DEFAULTS.sizes)]),
    flows: options.flows ?? LOAD_DEFAULTS.flows,
    window: options.window ?? LOAD_DEFAULTS.window,
    drainMs: options.drainMs ?? LOAD_DEFAULTS.drainMs,
    intervalMs: options.intervalMs ?? LOAD_DEFAULTS.intervalMs,
    ownTarget: options.ownTarget ?? LOAD_DEFAULTS.ownTarget,
    workers: options.workers ?? LOAD_DEFAULTS.workers,
    maxLagUs: options.maxLagUs ?? LOAD_DEFAULTS.maxLagUs,
    ...(options.rcvbufBytes === undefined ? {} : { rcvbufBytes: options.rcvbufBytes }),
    ...(options.target === undefined ? {} : { target: options.target }),
    ...(options.onInterval === undefined ? {} : { onInterval: options.onInterval }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/** Sizes above the family's largest payload (IPv4 targets allow 65507, IPv6 65527): a usage error. */
export function checkSizesForFamily(options: ResolvedLoadOptions, family: Family): void {
  const max = maxPayload(family);
  throwIfProblems(
    options.sizes.flatMap((s, i) =>
      s > max
        ? [
            {
              path: `sizes[${i}]`,
              value: s,
              message: `must be at most ${max} for an ${family} target`,
              range: [LOAD_LIMITS.sizes[0], max] as const,
            },
          ]
        : [],
    ),
  );
}

/** The IP packets and bytes (IP and UDP headers included) of one datagram of `size` payload bytes. */
export interface OnWire {
  readonly packets: number;
  readonly bytes: number;
}

/**
 * What one UDP datagram of `size` payload bytes is on a link of `mtu`: one IP packet when it fits,
 * otherwise that many fragments, each carrying a multiple of 8 bytes of the UDP datagram but the
 * last, and each with its own IP header (IPv6: 40 bytes plus an 8-byte fragment header).
 */
export function datagramOnWire(size: number, family: Family, mtu: number): OnWire {
  const udp = size + 8;
  const ip = family === 'IPv6' ? 40 : 20;
  if (udp <= mtu - ip) return { packets: 1, bytes: udp + ip };
  const header = family === 'IPv6' ? ip + 8 : ip;
  const perFragment = Math.floor((mtu - header) / 8) * 8;
  const packets = Math.ceil(udp / perFragment);
  return { packets, bytes: udp + packets * header };
}

/** What a rate run puts on the wire each second: `rate` datagrams, their sizes used round-robin. */
export interface WireRate {
  readonly packetsPerS: number;
  readonly bytesPerS: number;
  /** The MTU it was computed for, and whether that is the route's (false: DEFAULT_MTU assumed). */
  readonly mtu: number;
  readonly mtuKnown: boolean;
}

/** Packets/s and bytes/s on the wire of `options.rate` datagrams/s of `options.sizes`, over a path of `mtu` (undefined: DEFAULT_MTU). */
export function wireRate(
  options: Pick<ResolvedLoadOptions, 'rate' | 'sizes'>,
  family: Family,
  mtu?: number,
): WireRate {
  const least = family === 'IPv6' ? 1280 : 68;
  const known = mtu !== undefined && Number.isInteger(mtu) && mtu >= least;
  const m = known ? mtu : DEFAULT_MTU;
  const each = options.sizes.map((size) => datagramOnWire(size, family, m));
  const mean = (f: (w: OnWire) => number): number => each.reduce((a, w) => a + f(w), 0) / each.length;
  return {
    packetsPerS: options.rate * mean((w) => w.packets),
    bytesPerS: options.rate * mean((w) => w.bytes),
    mtu: m,
    mtuKnown: known,
  };
}

/** Bytes per second in words: 850 B/s, 112 kB/s, 65.5 MB/s (k and M are powers of 10). */
export function byteRateText(bytesPerS: number): string {
  if (bytesPerS >= 1e6) return `${(bytesPerS / 1e6).toFixed(1)} MB/s`;
  if (bytesPerS >= 1e3) return `${Math.round(bytesPerS / 1e3)} kB/s`;
  return `${Math.round(bytesPerS)} B/s`;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * The flooding guard of LOAD.md "Safety": against a target the run does not own (not loopback, not
 * embedded, no ownTarget), a rate run may put at most SAFE_RATE_CAP packets/s and SAFE_BYTE_CAP
 * bytes/s on the wire, every IP fragment counted, over a path of `mtu` (the route's, when known;
 * DEFAULT_MTU otherwise). Flood and ping-pong are unpaced, so they count as unlimited.
 */
export function checkLoadSafety(
  options: ResolvedLoadOptions,
  target: Pick<Target, 'address' | 'embedded' | 'family'>,
  mtu?: number,
): void {
  if (ownsTarget(target, options.ownTarget)) return;
  const owner = 'you must confirm that you own the target with `ownTarget`';
  const where = `against ${target.address}, which is not a loopback address`;
  if (options.mode !== 'rate') {
    throw validationError([
      {
        path: 'mode',
        value: options.mode,
        message: `unpaced, ${where}: nothing holds it under the cap of ${count(SAFE_RATE_CAP)} packets/s; ${owner}`,
      },
    ]);
  }
  const wire = wireRate(options, target.family, mtu);
  if (wire.packetsPerS <= SAFE_RATE_CAP && wire.bytesPerS <= SAFE_BYTE_CAP) return;
  const perDatagram = wire.packetsPerS / options.rate;
  const packets = Number.isInteger(perDatagram) ? String(perDatagram) : perDatagram.toFixed(1);
  const mtuText = `${wire.mtuKnown ? 'route MTU' : 'MTU'} ${wire.mtu}${wire.mtuKnown ? '' : ' assumed'}`;
  throw validationError([
    {
      path: 'rate',
      value: options.rate,
      message:
        `${where}: ${options.rate.toLocaleString('en-US')} datagrams/s of \`sizes\` ${options.sizes.join(',')} are ` +
        `${count(wire.packetsPerS)} packets/s and ${byteRateText(wire.bytesPerS)} on the wire ` +
        `(${packets} ${target.family} packet${packets === '1' ? '' : 's'} per datagram, ${mtuText}), ` +
        `above the cap of ${count(SAFE_RATE_CAP)} packets/s and ${byteRateText(SAFE_BYTE_CAP)}: ${owner}`,
    },
  ]);
}
