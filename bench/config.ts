/** The bench's command line (docs/benchmarks.md), the paths it uses, and how a broken setup is reported. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/bench/config.js). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The echolot CLI, which runs the reference server row. */
export const CLI = join(ROOT, 'dist', 'harness', 'cli', 'main.js');

/** Exit code of a broken setup (missing compiler, a baseline that does not start); never for figures. */
export const EXIT_BROKEN = 2;

/** Payload sizes of the large-datagram rows: a full Ethernet frame, and the largest UDP payload over IPv4. */
export const LARGE_SIZES = [1472, 65507] as const;

/** Flows (client sockets, each on its own ephemeral port) of the many-flows generator row, window 1 each. */
export const MANY_FLOWS = 1000;

/** The offered rate of the rate-precision rows, datagrams/s (docs/load.md "Rate precision"). */
export const RATE_ROW_RATE = 100_000;

/** Most flows echolot's generator takes (and so the C one is given). */
export const MAX_FLOWS = 1024;

/** The knobs of one bench run. */
export interface BenchConfig {
  readonly quick: boolean;
  /** Measured time of each flood row, per repetition, ms. */
  readonly floodMs: number;
  /** Measured time of each ping-pong row, per repetition, ms. */
  readonly pingPongMs: number;
  /** Unmeasured time before each measurement, ms. */
  readonly warmupMs: number;
  /** Measured time of each large-datagram and many-flows row, per repetition, ms (--quick: 200). */
  readonly extraFloodMs: number;
  /** Unmeasured time before each large-datagram and many-flows row, ms (--quick: 50). */
  readonly extraWarmupMs: number;
  /** Measured time of each rate-precision row, per repetition, ms (--quick: 500). */
  readonly rateMs: number;
  /** Unmeasured time before each rate-precision row, ms (--quick: 100). */
  readonly rateWarmupMs: number;
  /** `sockperf -t`: whole seconds, of which sockperf itself leaves out the first 400 ms and the last 50 ms. */
  readonly sockperfSeconds: number;
  readonly reps: number;
  readonly flows: number;
  /** Outstanding datagrams per flow (flows x window in flight in total). */
  readonly window: number;
  readonly size: number;
  readonly pin: boolean;
  readonly reportDir: string;
}

/** `npm run bench -- --help`: what the bench takes (docs/benchmarks.md has the method and the figures). */
export const USAGE = `usage: npm run bench -- [options]   (or node dist/bench/bench.js [options])

Measures echolot's reference server and generator side by side with textbook Node programs and
minimal C programs on this machine, and prints the table and the ratios of their medians.

options:
  --quick            smoke run: 0.2-0.5 s per row, one repetition
  --reps N           repetitions of the whole list of rows, interleaved (default 3; 1 with --quick)
  --duration-ms N    measured time of each flood row, ms (default 4000)
  --flows N          client sockets of the flood rows, 1..${MAX_FLOWS} (default 4)
  --window N         outstanding datagrams per flow, 1..65536 (default 16)
  --no-pin           leave generators and servers to the scheduler (default: pinned with taskset)
  --report-dir DIR   where the JSON report goes (default reports)
  --help             this text

exit codes: 0 measured (whatever the figures, goals met or not), 2 broken setup (named),
130/143 stopped by SIGINT/SIGTERM (no report). Method and figures: docs/benchmarks.md`;

/** What went wrong with the setup: the bench exits EXIT_BROKEN with this message. */
export class BrokenSetup extends Error {}

/** The run's configuration from its arguments; throws BrokenSetup for an unknown or malformed one. */
export function parseArgs(argv: readonly string[]): BenchConfig {
  const quick = argv.includes('--quick');
  const value = (name: string, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const raw = argv[i + 1];
    const v = Number(raw);
    if (raw === undefined || !/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < 1 || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer 1..${max}`;
      throw new BrokenSetup(
        `${name} must be ${range}, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`,
      );
    }
    return v;
  };
  const known = new Set([
    '--quick',
    '--no-pin',
    '--reps',
    '--duration-ms',
    '--report-dir',
    '--flows',
    '--window',
  ]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!known.has(a))
      throw new BrokenSetup(`unknown argument ${a} (npm run bench -- --help lists the options)`);
    if (!['--quick', '--no-pin'].includes(a)) i++;
  }
  const reportIdx = argv.indexOf('--report-dir');
  const durationMs = value('--duration-ms');
  const floodMs = durationMs ?? (quick ? 500 : 4000);
  const pingPongMs = quick ? 500 : 2000;
  const warmupMs = quick ? 100 : 500;
  // --quick keeps the large-datagram and many-flows rows short: it checks that they run, not their figures.
  const tiny = quick && durationMs === undefined;
  return {
    quick,
    floodMs,
    pingPongMs,
    warmupMs,
    extraFloodMs: tiny ? 200 : floodMs,
    extraWarmupMs: tiny ? 50 : warmupMs,
    rateMs: quick ? 500 : 5000,
    rateWarmupMs: quick ? 100 : 1000,
    sockperfSeconds: Math.max(1, Math.round(pingPongMs / 1000)),
    reps: value('--reps') ?? (quick ? 1 : 3),
    flows: value('--flows', MAX_FLOWS) ?? 4,
    window: value('--window', 65_536) ?? 16,
    size: 64,
    pin: !argv.includes('--no-pin'),
    reportDir: reportIdx >= 0 ? resolve(argv[reportIdx + 1] ?? 'reports') : join(ROOT, 'reports'),
  };
}
