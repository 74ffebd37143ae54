/** Defaults and validation of load options, in one place (LoadOptions -> ResolvedLoadOptions). */
import { HarnessError } from '../errors.js';
import { MAX_PAYLOAD_IPV6, maxPayload, type Family } from '../protocol/constants.js';
import { MAX_FLOW_ID, PROBE_HEADER_BYTES } from '../protocol/probe-codec.js';
import type { LoadOptions, LoadResult } from './types.js';

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

/** Offered datagrams per second above which a non-loopback target needs ownTarget (`--i-own-the-target`). */
export const SAFE_RATE_CAP = 1000;

/** Upper bounds of the numeric options (the CLI documents the same ranges). */
export const LOAD_LIMITS = Object.freeze({
  durationMs: [1, 24 * 3_600_000],
  warmupMs: [0, 3_600_000],
  rate: [1e-3, 10_000_000],
  flows: [1, 1024],
  window: [1, 65_536],
  drainMs: [0, 60_000],
  intervalMs: [100, 60_000],
  rcvbufBytes: [1, 1 << 30],
  workers: [1, 64],
  maxLagUs: [1, 60_000_000],
} as const);

/** Most intervals one run may have (each keeps its own histogram). */
export const MAX_INTERVALS = 100_000;

/** Options with every default applied and every value checked. */
export type ResolvedLoadOptions = LoadResult['options'] & {
  readonly target?: string;
  readonly onInterval?: LoadOptions['onInterval'];
};

/** Test hooks of runLoad, not part of the public contract. */
export interface LoadInternals {
  /** Blocks the generator's event loop once, for stallMs, at this many ms into the measurement. */
  readonly stallAtMs?: number;
  readonly stallMs?: number;
}

const MODES = ['ping-pong', 'rate', 'flood'] as const;
const ARRIVALS = ['constant', 'poisson'] as const;

/**
 * Applies the defaults and validates; throws one ERR_ECHOLOT_USAGE listing every problem, each naming
 * the option (as its command-line flag), the rule and the value received.
 */
export function resolveLoadOptions(options: LoadOptions = {}): ResolvedLoadOptions {
  const problems: string[] = [];
  const int = (flag: string, value: number, [lo, hi]: readonly [number, number]): void => {
    if (!Number.isInteger(value) || value < lo || value > hi) {
      problems.push(`${flag} ${String(value)}: must be an integer in ${lo}..${hi}`);
    }
  };
  const mode = options.mode ?? LOAD_DEFAULTS.mode;
  if (!(MODES as readonly string[]).includes(mode)) {
    problems.push(`--mode ${String(mode)}: must be one of ${MODES.join(', ')}`);
  }
  const arrival = options.arrival ?? LOAD_DEFAULTS.arrival;
  if (!(ARRIVALS as readonly string[]).includes(arrival)) {
    problems.push(`--arrival ${String(arrival)}: must be one of ${ARRIVALS.join(', ')}`);
  }
  const durationMs = options.durationMs ?? LOAD_DEFAULTS.durationMs;
  int('--duration', durationMs, LOAD_LIMITS.durationMs);
  const warmupMs = options.warmupMs ?? LOAD_DEFAULTS.warmupMs;
  int('--warmup', warmupMs, LOAD_LIMITS.warmupMs);
  const rate = options.rate ?? LOAD_DEFAULTS.rate;
  const [rLo, rHi] = LOAD_LIMITS.rate;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < rLo || rate > rHi) {
    problems.push(`--rate ${String(rate)}: must be a number of datagrams per second in ${rLo}..${rHi}`);
  }
  const sizes = options.sizes ?? LOAD_DEFAULTS.sizes;
  if (!Array.isArray(sizes) || sizes.length === 0) {
    problems.push(`--size: must list at least one size`);
  } else {
    for (const s of sizes) {
      if (!Number.isInteger(s) || s < PROBE_HEADER_BYTES || s > MAX_PAYLOAD_IPV6) {
        problems.push(
          `--size ${String(s)}: must be an integer in ${PROBE_HEADER_BYTES}..${MAX_PAYLOAD_IPV6} (the probe header needs ${PROBE_HEADER_BYTES})`,
        );
      }
    }
  }
  const flows = options.flows ?? LOAD_DEFAULTS.flows;
  int('--flows', flows, [LOAD_LIMITS.flows[0], Math.min(LOAD_LIMITS.flows[1], MAX_FLOW_ID + 1)]);
  const window = options.window ?? LOAD_DEFAULTS.window;
  int('--window', window, LOAD_LIMITS.window);
  const drainMs = options.drainMs ?? LOAD_DEFAULTS.drainMs;
  int('--drain', drainMs, LOAD_LIMITS.drainMs);
  const intervalMs = options.intervalMs ?? LOAD_DEFAULTS.intervalMs;
  int('--interval', intervalMs, LOAD_LIMITS.intervalMs);
  if (
    Number.isInteger(durationMs) &&
    Number.isInteger(intervalMs) &&
    intervalMs > 0 &&
    Math.ceil(durationMs / intervalMs) > MAX_INTERVALS
  ) {
    problems.push(
      `--interval ${intervalMs}: --duration ${durationMs} would make more than ${MAX_INTERVALS} intervals`,
    );
  }
  const workers = options.workers ?? LOAD_DEFAULTS.workers;
  int('--workers', workers, LOAD_LIMITS.workers);
  if (Number.isInteger(workers) && Number.isInteger(flows) && workers > flows) {
    problems.push(`--workers ${workers}: must be at most --flows (${flows}); each worker needs a flow`);
  }
  const maxLagUs = options.maxLagUs ?? LOAD_DEFAULTS.maxLagUs;
  int('--max-lag', maxLagUs, LOAD_LIMITS.maxLagUs);
  if (options.rcvbufBytes !== undefined) int('--rcvbuf', options.rcvbufBytes, LOAD_LIMITS.rcvbufBytes);
  if (options.target !== undefined && options.target.trim() === '')
    problems.push(`target '': must be HOST:PORT`);
  if (problems.length > 0) throw new HarnessError('ERR_ECHOLOT_USAGE', problems.join('; '));
  return {
    mode,
    durationMs,
    warmupMs,
    rate,
    arrival,
    sizes: Object.freeze([...sizes]),
    flows,
    window,
    drainMs,
    intervalMs,
    ownTarget: options.ownTarget ?? LOAD_DEFAULTS.ownTarget,
    workers,
    maxLagUs,
    ...(options.rcvbufBytes === undefined ? {} : { rcvbufBytes: options.rcvbufBytes }),
    ...(options.target === undefined ? {} : { target: options.target }),
    ...(options.onInterval === undefined ? {} : { onInterval: options.onInterval }),
  };
}

/** Sizes above the family's largest payload (IPv4 targets allow 65507, IPv6 65527): a usage error. */
export function checkSizesForFamily(options: ResolvedLoadOptions, family: Family): void {
  const max = maxPayload(family);
  const bad = options.sizes.filter((s) => s > max);
  if (bad.length > 0) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      bad.map((s) => `--size ${s}: must be at most ${max} for an ${family} target`).join('; '),
    );
  }
}

/**
 * The flooding guard of LOAD.md "Safety": against a target that is not loopback, an offered rate
 * above SAFE_RATE_CAP (flood and ping-pong are unpaced, so they count as unlimited) needs ownTarget.
 */
export function checkLoadSafety(options: ResolvedLoadOptions, address: string, loopback: boolean): void {
  if (loopback || options.ownTarget) return;
  const unlimited = options.mode !== 'rate';
  if (!unlimited && options.rate <= SAFE_RATE_CAP) return;
  const what = unlimited ? `--mode ${options.mode} (unpaced)` : `--rate ${options.rate}`;
  throw new HarnessError(
    'ERR_ECHOLOT_USAGE',
    `${what} against ${address}, which is not a loopback address: above ${SAFE_RATE_CAP} datagrams/s ` +
      `you must confirm that you own the target with --i-own-the-target`,
  );
}
