/**
 * The load generators of the rows, each a function from a target to one sample: the C and naive ones as
 * child processes that print one JSON line, echolot's in this process (runLoad).
 */
import { join } from 'node:path';
import { runLoad } from '../harness/load/run-load.js';
import type { LoadInternals } from '../harness/load/options.js';
import type { LoadResult } from '../harness/load/types.js';
import { BrokenSetup, RATE_ROW_RATE, ROOT, type BenchConfig } from './config.js';
import { pinned, run, type Pinning } from './machine.js';

/** One measurement of a flood row. */
export interface FloodSample {
  readonly rate: number;
  /** echolot's generator said it limited the result. */
  readonly bottleneck?: readonly string[];
}

/** One measurement of a ping-pong row. */
export interface PingPongSample {
  readonly p50Us: number;
  readonly p99Us: number;
}

/** One measurement of a rate-precision row: the send lag of a constant-rate schedule, whole us. */
export interface RateSample {
  readonly lagP50Us: number;
  readonly lagP99Us: number;
  readonly lagP999Us: number;
}

/** One measurement of any row. */
export type Sample = FloodSample | PingPongSample | RateSample;

/** Runs a generator in a child process (C or naive Node), which prints one JSON line. */
async function childGenerator(
  label: string,
  cpu: number | undefined,
  command: string,
  args: string[],
  budgetMs: number,
): Promise<Record<string, unknown>> {
  const [cmd, argv] = pinned(cpu, command, args);
  const r = await run(cmd, argv, budgetMs + 15_000);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    if (r.code !== 0) throw new Error(`exit ${String(r.code)}`);
    return JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new BrokenSetup(`${label} failed (${why}): ${r.stderr.trim() || line}`);
  }
}

/** What a flood row sends: payload size, flows x window, and its measured and warm-up times. */
export interface FloodShape {
  readonly size: number;
  readonly flows: number;
  readonly window: number;
  readonly ms: number;
  readonly warmupMs: number;
}

/** The generators, each a function from a target to one sample. */
export interface Generators {
  /** The flood shape of the run's own rows (--flows, --window, --duration-ms, 64 bytes). */
  readonly base: FloodShape;
  cFlood(address: string, port: number, shape?: FloodShape): Promise<FloodSample>;
  cPingPong(address: string, port: number): Promise<PingPongSample>;
  naiveFlood(address: string, port: number): Promise<FloodSample>;
  /** `internals.plane: false` keeps the closed loops on Node's loop (the data plane's A/B). */
  echolotFlood(
    address: string,
    port: number,
    shape?: FloodShape,
    internals?: Pick<LoadInternals, 'plane'>,
  ): Promise<FloodSample>;
  echolotPingPong(
    address: string,
    port: number,
    internals?: Pick<LoadInternals, 'plane'>,
  ): Promise<PingPongSample>;
  /** One socket sending RATE_ROW_RATE datagrams/s on a constant schedule: echolot's rate mode, and a C loop. */
  cRate(address: string, port: number): Promise<RateSample>;
  echolotRate(address: string, port: number): Promise<RateSample>;
}

/** The generators with this run's payload, flows, window and durations, pinned to the generator CPU. */
export function makeGenerators(config: BenchConfig, pin: Pinning, buildDir: string): Generators {
  const gen = join(buildDir, 'gen-mmsg');
  const pacer = join(buildDir, 'rate-pacer');
  const base: FloodShape = {
    size: config.size,
    flows: config.flows,
    window: config.window,
    ms: config.floodMs,
    warmupMs: config.warmupMs,
  };
  const common = (ms: number, shape: FloodShape = base): string[] => [
    String(ms),
    String(shape.warmupMs),
    String(shape.flows),
    String(shape.window),
    String(shape.size),
  ];
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
  const echolotOptions = (address: string, port: number, shape: FloodShape = base) =>
    ({
      target: `${address}:${port}`,
      durationMs: shape.ms,
      warmupMs: shape.warmupMs,
      sizes: [shape.size],
      // Late replies only change the loss count, not the rate: short rows wait no longer than they ran.
      drainMs: Math.min(200, shape.ms),
      intervalMs: Math.max(100, Math.min(1000, shape.ms)),
    }) as const;
  return {
    base,
    async cFlood(address, port, shape = base) {
      const r = await childGenerator(
        'gen-mmsg flood',
        pin.generatorCpu,
        gen,
        ['flood', address, String(port), ...common(shape.ms, shape)],
        shape.ms,
      );
      return { rate: num(r.rate) };
    },
    async cPingPong(address, port) {
      const r = await childGenerator(
        'gen-mmsg ping-pong',
        pin.generatorCpu,
        gen,
        ['ping-pong', address, String(port), ...common(config.pingPongMs)],
        config.pingPongMs,
      );
      return { p50Us: num(r.p50Us), p99Us: num(r.p99Us) };
    },
    async cRate(address, port) {
      const r = await childGenerator(
        'rate-pacer',
        pin.generatorCpu,
        pacer,
        [
          address,
          String(port),
          String(config.rateMs),
          String(config.rateWarmupMs),
          String(RATE_ROW_RATE),
          String(config.size),
        ],
        config.rateMs + config.rateWarmupMs,
      );
      return { lagP50Us: num(r.lagP50Us), lagP99Us: num(r.lagP99Us), lagP999Us: num(r.lagP999Us) };
    },
    async echolotRate(address, port) {
      const r: LoadResult = await runLoad({
        ...echolotOptions(address, port),
        durationMs: config.rateMs,
        warmupMs: config.rateWarmupMs,
        mode: 'rate',
        rate: RATE_ROW_RATE,
        flows: 1,
      });
      return { lagP50Us: r.sendLag.p50, lagP99Us: r.sendLag.p99, lagP999Us: r.sendLag.p999 };
    },
    async naiveFlood(address, port) {
      const r = await childGenerator(
        'naive-generator.mjs',
        pin.generatorCpu,
        process.execPath,
        [join(ROOT, 'bench', 'naive-generator.mjs'), address, String(port), ...common(config.floodMs)],
        config.floodMs,
      );
      return { rate: num(r.rate) };
    },
    async echolotFlood(address, port, shape = base, internals = {}) {
      const r: LoadResult = await runLoad(
        {
          ...echolotOptions(address, port, shape),
          mode: 'flood',
          flows: shape.flows,
          window: shape.window,
        },
        internals,
      );
      return {
        rate: r.rates.echoes,
        ...(r.generator.bottleneck ? { bottleneck: r.generator.reasons } : {}),
      };
    },
    async echolotPingPong(address, port, internals = {}) {
      const r: LoadResult = await runLoad(
        {
          ...echolotOptions(address, port),
          durationMs: config.pingPongMs,
          mode: 'ping-pong',
          flows: 1,
        },
        internals,
      );
      return { p50Us: r.response.p50, p99Us: r.response.p99 };
    },
  };
}
