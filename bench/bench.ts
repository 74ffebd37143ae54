/**
 * `npm run bench`: echolot's reference server and generator measured side by side with textbook and
 * C baselines in one run, so the ratios hold even when absolute figures drift (docs/benchmarks.md).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoad } from '../harness/load/run-load.js';
import type { LoadResult } from '../harness/load/types.js';
import { createTestHost, type HostProcess, type TestHost } from '../harness/testhost/netns.js';

/** The repository root (this file runs as dist/bench/bench.js). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'harness', 'cli', 'main.js');
const C_SOURCES = ['echo-mmsg', 'echo-loop', 'gen-mmsg'] as const;
/** How long a server may take to print its listening line or answer its first datagram. */
const START_TIMEOUT_MS = 10_000;
/** Exit code of a broken setup (missing compiler, a baseline that does not start); never for figures. */
const EXIT_BROKEN = 2;

/** The knobs of one bench run. */
export interface BenchConfig {
  readonly quick: boolean;
  /** Measured time of each flood row, per repetition, ms. */
  readonly floodMs: number;
  /** Measured time of each ping-pong row, per repetition, ms. */
  readonly pingPongMs: number;
  /** Unmeasured time before each measurement, ms. */
  readonly warmupMs: number;
  readonly reps: number;
  readonly flows: number;
  /** Outstanding datagrams per flow (flows x window in flight in total). */
  readonly window: number;
  readonly size: number;
  readonly pin: boolean;
  readonly reportDir: string;
}

/** What went wrong with the setup: the bench exits EXIT_BROKEN with this message. */
class BrokenSetup extends Error {}

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function parseArgs(argv: readonly string[]): BenchConfig {
  const quick = argv.includes('--quick');
  const value = (name: string): number | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < 1) throw new BrokenSetup(`${name} needs a positive integer`);
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
    if (!known.has(a)) throw new BrokenSetup(`unknown argument ${a} (see docs/benchmarks.md)`);
    if (!['--quick', '--no-pin'].includes(a)) i++;
  }
  const reportIdx = argv.indexOf('--report-dir');
  const floodMs = value('--duration-ms') ?? (quick ? 500 : 4000);
  return {
    quick,
    floodMs,
    pingPongMs: quick ? 500 : 2000,
    warmupMs: quick ? 100 : 500,
    reps: value('--reps') ?? (quick ? 1 : 3),
    flows: value('--flows') ?? 4,
    window: value('--window') ?? 16,
    size: 64,
    pin: !argv.includes('--no-pin'),
    reportDir: reportIdx >= 0 ? resolve(argv[reportIdx + 1] ?? 'reports') : join(ROOT, 'reports'),
  };
}

/** Runs a command to completion with a bounded wait. */
function run(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(command, [...args], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      done({ code, stdout, stderr: stderr || (err?.message ?? '') });
    });
  });
}

/** Compiles each C program into bench/build/ when the binary is missing or older than its source. */
async function buildC(): Promise<{ built: string[]; dir: string }> {
  const dir = join(ROOT, 'bench', 'build');
  mkdirSync(dir, { recursive: true });
  const built: string[] = [];
  for (const name of C_SOURCES) {
    const src = join(ROOT, 'bench', 'c', `${name}.c`);
    const bin = join(dir, name);
    if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) continue;
    const r = await run('cc', ['-O2', '-Wall', '-o', bin, src], 60_000);
    if (r.code !== 0) throw new BrokenSetup(`cc -O2 ${src} failed: ${r.stderr.trim()}`);
    built.push(name);
  }
  return { built, dir };
}

/** CPUs this process may run on (Cpus_allowed_list), to pin generator and server apart. */
function allowedCpus(): number[] {
  const status = readFileSync('/proc/self/status', 'utf8');
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? '';
  const cpusOut: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let c = a; c <= (b ?? a); c++) cpusOut.push(c);
  }
  return cpusOut;
}

/** Pinning: the generator (and this process) on one CPU, the server on another; or none. */
interface Pinning {
  readonly generatorCpu?: number;
  readonly serverCpu?: number;
  readonly note: string;
}

async function decidePinning(config: BenchConfig): Promise<Pinning> {
  if (!config.pin) return { note: 'not pinned (--no-pin)' };
  if ((await run('taskset', ['--version'], 5000)).code !== 0) return { note: 'not pinned (no taskset)' };
  const allowed = allowedCpus();
  const [generatorCpu, serverCpu] = allowed;
  if (generatorCpu === undefined || serverCpu === undefined) {
    return { note: `not pinned (only CPU ${allowed.join(',')} allowed)` };
  }
  // The in-process generator (runLoad) runs on this process's threads: pin all of them.
  const r = await run('taskset', ['-a', '-p', '-c', String(generatorCpu), String(process.pid)], 5000);
  if (r.code !== 0) return { note: `not pinned (taskset -p failed: ${r.stderr.trim()})` };
  return {
    generatorCpu,
    serverCpu,
    note: `taskset: generators (and this process) on CPU ${generatorCpu}, servers on CPU ${serverCpu}`,
  };
}

function pinned(cpu: number | undefined, command: string, args: readonly string[]): [string, string[]] {
  return cpu === undefined ? [command, [...args]] : ['taskset', ['-c', String(cpu), command, ...args]];
}

/** A running echo server under test. */
interface Server {
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(killer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Waits for "listening on udp port N" on the child's stdout; stops it and throws otherwise. */
async function awaitListening(
  child: ChildProcess,
  label: string,
  stop: () => Promise<void>,
): Promise<number> {
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  try {
    return await new Promise<number>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`no listening line in ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /listening on udp port (\d+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          child.stdout?.resume();
          done(Number(m[1]));
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        fail(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        fail(new Error(`exited (${signal ?? `code ${String(code)}`}) before listening`));
      });
    });
  } catch (err) {
    await stop();
    const why = err instanceof Error ? err.message : String(err);
    throw new BrokenSetup(`cannot start ${label}: ${why}${stderr ? ` (stderr: ${stderr.trim()})` : ''}`);
  }
}

async function startServer(
  label: string,
  cpu: number | undefined,
  command: string,
  args: string[],
): Promise<Server> {
  const [cmd, argv] = pinned(cpu, command, args);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = (): Promise<void> => stopChild(child);
  const port = await awaitListening(child, label, stop);
  return { address: '127.0.0.1', port, stop };
}

/** Sends one datagram every 100 ms until it comes back (a server with no listening line is ready then). */
async function awaitEcho(address: string, port: number, timeoutMs: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<boolean>((done) => {
      const finish = (ok: boolean): void => {
        clearTimeout(deadline);
        clearInterval(tick);
        done(ok);
      };
      const deadline = setTimeout(() => finish(false), timeoutMs);
      const tick = setInterval(() => socket.send('echolot-bench-ready', port, address), 100);
      socket.on('error', () => undefined);
      socket.once('message', () => finish(true));
      socket.send('echolot-bench-ready', port, address);
    });
  } finally {
    socket.close();
  }
}

/** One measurement of a flood row. */
interface FloodSample {
  readonly rate: number;
  /** echolot's generator said it limited the result. */
  readonly bottleneck?: readonly string[];
}

/** One measurement of a ping-pong row. */
interface PingPongSample {
  readonly p50Us: number;
  readonly p99Us: number;
}

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

/** The generators, each a function from a target to one sample. */
interface Generators {
  cFlood(address: string, port: number): Promise<FloodSample>;
  cPingPong(address: string, port: number): Promise<PingPongSample>;
  naiveFlood(address: string, port: number): Promise<FloodSample>;
  echolotFlood(address: string, port: number): Promise<FloodSample>;
  echolotPingPong(address: string, port: number): Promise<PingPongSample>;
}

function makeGenerators(config: BenchConfig, pin: Pinning, buildDir: string): Generators {
  const gen = join(buildDir, 'gen-mmsg');
  const common = (ms: number): string[] => [
    String(ms),
    String(config.warmupMs),
    String(config.flows),
    String(config.window),
    String(config.size),
  ];
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
  const echolotOptions = (address: string, port: number) =>
    ({
      target: `${address}:${port}`,
      durationMs: config.floodMs,
      warmupMs: config.warmupMs,
      sizes: [config.size],
      drainMs: 200,
      intervalMs: Math.max(100, Math.min(1000, config.floodMs)),
    }) as const;
  return {
    async cFlood(address, port) {
      const r = await childGenerator(
        'gen-mmsg flood',
        pin.generatorCpu,
        gen,
        ['flood', address, String(port), ...common(config.floodMs)],
        config.floodMs,
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
    async echolotFlood(address, port) {
      const r: LoadResult = await runLoad({
        ...echolotOptions(address, port),
        mode: 'flood',
        flows: config.flows,
        window: config.window,
      });
      return {
        rate: r.rates.echoes,
        ...(r.generator.bottleneck ? { bottleneck: r.generator.reasons } : {}),
      };
    },
    async echolotPingPong(address, port) {
      const r: LoadResult = await runLoad({
        ...echolotOptions(address, port),
        durationMs: config.pingPongMs,
        mode: 'ping-pong',
        flows: 1,
      });
      return { p50Us: r.response.p50, p99Us: r.response.p99 };
    },
  };
}

/** One row of the table. */
interface Row {
  readonly id: string;
  readonly group: 'server' | 'generator' | 'ping-pong';
  readonly label: string;
  readonly unit: 'echoes/s' | 'us p50';
  /** Absent when the row was skipped. */
  readonly measure?: () => Promise<FloodSample | PingPongSample>;
  skipped?: string;
  readonly samples: (FloodSample | PingPongSample)[];
  /** Another row's measurement stands for this one (same generator, same server). */
  readonly sameAs?: string;
}

function median(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function figure(sample: FloodSample | PingPongSample): number {
  return 'rate' in sample ? sample.rate : sample.p50Us;
}

/** The inetd test host: openbsd-inetd's internal echo and the C mmsg server, over a veth link. */
interface Veth {
  readonly host: TestHost;
  readonly inetd: { address: string; port: number };
  readonly mmsg: { address: string; port: number };
  readonly tmp: string;
}

const INETD = '/usr/sbin/inetd';

/** Why the veth rows cannot run here, or undefined when they can. */
async function vethUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (a network namespace for the test host)';
  if (!existsSync(INETD)) return `${INETD} is missing (Debian package openbsd-inetd)`;
  if ((await run('ip', ['-V'], 5000)).code !== 0) return 'the ip command is missing (iproute2)';
  return undefined;
}

async function startVeth(pin: Pinning, buildDir: string): Promise<Veth> {
  const host = await createTestHost();
  const tmp = mkdtempSync(join(tmpdir(), 'echolot-bench-'));
  try {
    // openbsd-inetd's internal echo ignores datagrams from 127/8, hence the namespace.
    const conf = join(tmp, 'inetd.conf');
    writeFileSync(conf, 'echo dgram udp wait root internal\n');
    const inside = (command: string, args: string[]): HostProcess => {
      const [cmd, argv] = pinned(pin.serverCpu, command, args);
      return host.spawn(cmd, argv);
    };
    const inetdProcess = inside(INETD, ['-i', conf]);
    let inetdErr = '';
    inetdProcess.child.stderr?.on('data', (d: Buffer) => (inetdErr += d.toString()));
    if (!(await awaitEcho(host.address, 7, START_TIMEOUT_MS))) {
      throw new BrokenSetup(`openbsd-inetd in ${host.name} does not echo on port 7: ${inetdErr.trim()}`);
    }
    const mmsgProcess = inside(join(buildDir, 'echo-mmsg'), ['7007', host.address]);
    await awaitListening(mmsgProcess.child, 'echo-mmsg in the test host', () => mmsgProcess.stop());
    return {
      host,
      tmp,
      inetd: { address: host.address, port: 7 },
      mmsg: { address: host.address, port: 7007 },
    };
  } catch (err) {
    await host.remove();
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** One ratio of the summary: a over b, with what it means. */
interface Ratio {
  readonly name: string;
  readonly of: string;
  readonly over: string;
  readonly value: number | null;
  readonly meaning: string;
}

function fmtNumber(v: number, unit: Row['unit']): string {
  if (!Number.isFinite(v)) return 'n/a';
  return unit === 'echoes/s' ? `${(v / 1000).toFixed(1)}k` : v.toFixed(1);
}

async function main(): Promise<number> {
  const config = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new BrokenSetup(`${CLI} is missing: run npm run build first`);
  const startedAt = new Date();
  const load0 = loadavg();
  const { built, dir: buildDir } = await buildC();
  const pin = await decidePinning(config);
  const g = makeGenerators(config, pin, buildDir);

  out(
    `echolot bench${config.quick ? ' (--quick)' : ''}: ${config.size}-byte payload, ${config.flows} flows x window ` +
      `${config.window} (${config.flows * config.window} outstanding), flood ${config.floodMs} ms and ping-pong ` +
      `${config.pingPongMs} ms per row after ${config.warmupMs} ms warm-up, ${config.reps} repetition(s) interleaved, median`,
  );
  out(`${pin.note}; C built${built.length ? `: ${built.join(', ')}` : ': up to date'} (${buildDir})`);
  out(`load average before: ${load0.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`);

  const servers: Server[] = [];
  let veth: Veth | undefined;
  const rows: Row[] = [];
  try {
    const ref = await startServer('the reference server', pin.serverCpu, process.execPath, [
      CLI,
      'serve',
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
    ]);
    servers.push(ref);
    const naive = await startServer('naive-server.mjs', pin.serverCpu, process.execPath, [
      join(ROOT, 'bench', 'naive-server.mjs'),
      '0',
      '127.0.0.1',
    ]);
    servers.push(naive);
    const mmsg = await startServer('echo-mmsg', pin.serverCpu, join(buildDir, 'echo-mmsg'), [
      '0',
      '127.0.0.1',
    ]);
    servers.push(mmsg);
    const loop = await startServer('echo-loop', pin.serverCpu, join(buildDir, 'echo-loop'), [
      '0',
      '127.0.0.1',
    ]);
    servers.push(loop);
    const vethWhyNot = await vethUnavailable();
    if (vethWhyNot === undefined) veth = await startVeth(pin, buildDir);

    const flood = (
      id: string,
      label: string,
      m: () => Promise<FloodSample>,
      group: Row['group'] = 'server',
    ): Row => ({
      id,
      group,
      label,
      unit: 'echoes/s',
      measure: m,
      samples: [],
    });
    rows.push(
      flood('server.reference', 'echolot reference server (node)', () => g.cFlood(ref.address, ref.port)),
      flood('server.naive', 'naive node:dgram server', () => g.cFlood(naive.address, naive.port)),
      flood('server.c-mmsg', 'C recvmmsg/sendmmsg server', () => g.cFlood(mmsg.address, mmsg.port)),
      flood('server.c-loop', 'C recvfrom/sendto loop', () => g.cFlood(loop.address, loop.port)),
    );
    const v = veth;
    if (v) {
      rows.push(
        flood('server.inetd-veth', 'openbsd-inetd internal echo (veth)', () =>
          g.cFlood(v.inetd.address, v.inetd.port),
        ),
        flood('server.c-mmsg-veth', 'C recvmmsg/sendmmsg server (veth)', () =>
          g.cFlood(v.mmsg.address, v.mmsg.port),
        ),
      );
    } else {
      for (const [id, label] of [
        ['server.inetd-veth', 'openbsd-inetd internal echo (veth)'],
        ['server.c-mmsg-veth', 'C recvmmsg/sendmmsg server (veth)'],
      ] as const) {
        rows.push({
          id,
          group: 'server',
          label,
          unit: 'echoes/s',
          skipped: vethWhyNot ?? 'unavailable',
          samples: [],
        });
      }
    }
    rows.push(
      flood(
        'generator.echolot',
        'echolot generator (runLoad flood)',
        () => g.echolotFlood(mmsg.address, mmsg.port),
        'generator',
      ),
      flood(
        'generator.naive',
        'naive node:dgram generator',
        () => g.naiveFlood(mmsg.address, mmsg.port),
        'generator',
      ),
      {
        id: 'generator.c-mmsg',
        group: 'generator',
        label: 'C sendmmsg/recvmmsg generator',
        unit: 'echoes/s',
        samples: [],
        sameAs: 'server.c-mmsg',
      },
      {
        id: 'ping-pong.echolot',
        group: 'ping-pong',
        label: 'echolot --mode ping-pong --flows 1',
        unit: 'us p50',
        measure: () => g.echolotPingPong(mmsg.address, mmsg.port),
        samples: [],
      },
      {
        id: 'ping-pong.c',
        group: 'ping-pong',
        label: 'C gen-mmsg ping-pong',
        unit: 'us p50',
        measure: () => g.cPingPong(mmsg.address, mmsg.port),
        samples: [],
      },
    );

    // Interleaved: every row once per round, so a burst of noise from elsewhere hits all rows alike.
    for (let rep = 0; rep < config.reps; rep++) {
      for (const row of rows) {
        if (row.measure === undefined) continue;
        row.samples.push(await row.measure());
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    if (veth) {
      await veth.host.remove();
      rmSync(veth.tmp, { recursive: true, force: true });
    }
  }

  const byId = new Map(rows.map((r) => [r.id, r]));
  const samplesOf = (row: Row): (FloodSample | PingPongSample)[] =>
    row.sameAs === undefined ? row.samples : (byId.get(row.sameAs)?.samples ?? []);
  const medianOf = (id: string): number => {
    const row = byId.get(id);
    return row ? median(samplesOf(row).map(figure)) : NaN;
  };
  const ratio = (name: string, of: string, over: string, meaning: string): Ratio => {
    const v = medianOf(of) / medianOf(over);
    return { name, of, over, value: Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null, meaning };
  };
  const ratios: Ratio[] = [
    ratio(
      'reference server / C mmsg server',
      'server.reference',
      'server.c-mmsg',
      'share of the machine the reference server reaches',
    ),
    ratio(
      'naive node server / C mmsg server',
      'server.naive',
      'server.c-mmsg',
      'what plain dgram reaches (about 0.34 in LOAD.md)',
    ),
    ratio(
      'reference server / naive node server',
      'server.reference',
      'server.naive',
      'above 1: the reference server beats the textbook',
    ),
    ratio('C loop / C mmsg server', 'server.c-loop', 'server.c-mmsg', 'what batching buys in C'),
    ratio(
      'inetd / C mmsg server (veth)',
      'server.inetd-veth',
      'server.c-mmsg-veth',
      'openbsd-inetd against the ceiling, same veth path',
    ),
    ratio(
      'echolot generator / naive generator',
      'generator.echolot',
      'generator.naive',
      'above 1: the generator beats the textbook',
    ),
    ratio(
      'echolot generator / C generator',
      'generator.echolot',
      'generator.c-mmsg',
      'share of the machine the generator reaches',
    ),
    ratio(
      'ping-pong p50 echolot / C',
      'ping-pong.echolot',
      'ping-pong.c',
      'round-trip overhead of the node generator (1 = none)',
    ),
  ];

  const bottlenecks = rows.flatMap((r) =>
    samplesOf(r).flatMap((s, i) =>
      'bottleneck' in s && s.bottleneck
        ? [`${r.label}, repetition ${i + 1}: ${s.bottleneck.join('; ')}`]
        : [],
    ),
  );

  // The table.
  out();
  const header = ['group', 'row', 'median', 'unit', 'min', 'max', 'n'];
  const table = rows.map((r) => {
    const vals = samplesOf(r).map(figure).filter(Number.isFinite);
    if (r.skipped !== undefined) return [r.group, r.label, 'skipped', '', '', '', '0'];
    return [
      r.group,
      r.label + (r.sameAs ? ' (= C mmsg server row)' : ''),
      fmtNumber(median(vals), r.unit),
      r.unit,
      fmtNumber(Math.min(...vals), r.unit),
      fmtNumber(Math.max(...vals), r.unit),
      String(vals.length),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => (t[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i >= 2 && i !== 3 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ');
  out(line(header));
  for (const t of table) out(line(t));
  out();
  out('ratios (of medians):');
  const rw = Math.max(...ratios.map((r) => r.name.length));
  for (const r of ratios)
    out(`  ${r.name.padEnd(rw)}  ${r.value === null ? 'n/a  ' : r.value.toFixed(3)}  ${r.meaning}`);
  for (const r of rows) if (r.skipped !== undefined) out(`skipped: ${r.label}: ${r.skipped}`);
  if (bottlenecks.length > 0) {
    out('echolot generator reported itself as the bottleneck (its figure is a floor, not the server):');
    for (const b of bottlenecks) out(`  ${b}`);
  }
  const load1 = loadavg();
  out(`load average after: ${load1.map((l) => l.toFixed(2)).join(' ')}`);

  const report = {
    type: 'echolot-bench',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      kernel: release(),
      node: process.version,
      loadavgBefore: load0,
      loadavgAfter: load1,
    },
    config,
    pinning: pin,
    rows: rows.map((r) => ({
      id: r.id,
      group: r.group,
      label: r.label,
      unit: r.unit,
      ...(r.skipped === undefined ? {} : { skipped: r.skipped }),
      ...(r.sameAs === undefined ? {} : { sameAs: r.sameAs }),
      median: r.skipped === undefined ? medianOf(r.id) : null,
      samples: samplesOf(r),
    })),
    ratios,
    bottlenecks,
  };
  mkdirSync(config.reportDir, { recursive: true });
  const file = join(config.reportDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  out(`report: ${file}`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const broken = err instanceof BrokenSetup;
    const text = err instanceof Error ? (broken ? err.message : (err.stack ?? err.message)) : String(err);
    process.stderr.write(`bench: ${broken ? 'broken setup: ' : 'internal error: '}${text}\n`);
    process.exitCode = EXIT_BROKEN;
  },
);
