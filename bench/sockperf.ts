/**
 * sockperf (Debian package sockperf) as an outside reference: its own client against its own server
 * (`sockperf sr`) on loopback, ping-pong p50 and one-way throughput (docs/benchmarks.md).
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { escapeControls } from '../harness/core/escape.js';
import { stopChild, START_TIMEOUT_MS, waitForLine } from '../harness/target/child-server.js';
import { BrokenSetup, type BenchConfig } from './config.js';
import type { FloodSample, PingPongSample } from './generators.js';
import { pinned, run, type Pinning } from './machine.js';
import type { Server } from './servers.js';

/** sockperf waits 2 s after its warm-up datagrams, whatever -t says: each run lasts -t + about 2.2 s. */
const FIXED_WAIT_MS = 2_200;

/** sockperf's output without its colours. */
function uncoloured(text: string): string {
  return text.replaceAll('\u001b[2;35m', '').replaceAll('\u001b[0m', '');
}

/** The last lines of sockperf's output as one line for a message, control characters escaped. */
function oneLine(text: string): string {
  const lines = uncoloured(text)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return escapeControls(lines.slice(-4).join(' | '));
}

/** Why the sockperf rows cannot run here, or undefined when they can. */
export async function sockperfUnavailable(): Promise<string | undefined> {
  const r = await run('sockperf', ['--version'], 5000);
  return r.code === 0 ? undefined : 'sockperf is not installed (Debian package sockperf)';
}

/** A UDP port on 127.0.0.1 that was free a moment ago (sockperf has no "any port"). */
async function freePort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((done, fail) => {
      socket.once('error', fail);
      socket.bind(0, '127.0.0.1', done);
    });
    return socket.address().port;
  } finally {
    socket.close();
  }
}

/** Starts `sockperf sr` on loopback on the server CPU; ready once it says how it blocks on its socket. */
export async function startSockperfServer(pin: Pinning): Promise<Server> {
  const port = await freePort();
  const [cmd, argv] = pinned(pin.serverCpu, 'sockperf', ['sr', '-i', '127.0.0.1', '-p', String(port)]);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = (): Promise<void> => stopChild(child);
  try {
    await waitForLine(child, /to block on socket/, START_TIMEOUT_MS);
  } catch (err) {
    await stop();
    const why = err instanceof Error ? err.message : String(err);
    throw new BrokenSetup(`cannot start sockperf sr on 127.0.0.1:${port}: ${oneLine(why)}`);
  }
  return { address: '127.0.0.1', port, stop };
}

/** The number after `label` in sockperf's output, NaN when it is absent. */
function after(output: string, label: RegExp): number {
  const m = label.exec(uncoloured(output));
  return m ? Number(m[1]) : NaN;
}

/** The p50 and p99 round trip of `sockperf pp --full-rtt` output; throws BrokenSetup without a p50. */
export function parsePingPong(output: string): PingPongSample {
  const sample = {
    p50Us: after(output, /percentile 50\.000 =\s*([\d.]+)/),
    p99Us: after(output, /percentile 99\.000 =\s*([\d.]+)/),
  };
  if (!Number.isFinite(sample.p50Us)) throw new BrokenSetup(`sockperf pp printed no p50: ${oneLine(output)}`);
  return sample;
}

/** The message rate of `sockperf tp` output (datagrams sent per second); throws BrokenSetup without one. */
export function parseThroughput(output: string): FloodSample {
  const rate = after(output, /Message Rate is (\d+) \[msg\/sec\]/);
  if (!Number.isFinite(rate))
    throw new BrokenSetup(`sockperf tp printed no message rate: ${oneLine(output)}`);
  return { rate };
}

/** Runs a sockperf client on the generator CPU and returns its output (colours removed). */
async function client(pin: Pinning, mode: 'pp' | 'tp', args: string[], seconds: number): Promise<string> {
  const [cmd, argv] = pinned(pin.generatorCpu, 'sockperf', [mode, ...args, '-t', String(seconds)]);
  const r = await run(cmd, argv, seconds * 1000 + FIXED_WAIT_MS + 15_000);
  const output = `${r.stdout}\n${r.stderr}`;
  if (r.code !== 0)
    throw new BrokenSetup(`sockperf ${mode} failed (exit ${String(r.code)}): ${oneLine(output)}`);
  return output;
}

/** sockperf's ping-pong and throughput clients against a sockperf server, with the run's payload. */
export interface Sockperf {
  pingPong(server: Server): Promise<PingPongSample>;
  throughput(server: Server): Promise<FloodSample>;
}

/** The sockperf clients of this run: the run's payload size, config.sockperfSeconds each. */
export function makeSockperf(config: BenchConfig, pin: Pinning): Sockperf {
  const target = (s: Server): string[] => ['-i', s.address, '-p', String(s.port), '-m', String(config.size)];
  return {
    async pingPong(server) {
      // --full-rtt: round trips, as the other ping-pong rows (sockperf's default is half of one).
      return parsePingPong(
        await client(pin, 'pp', [...target(server), '--full-rtt'], config.sockperfSeconds),
      );
    },
    async throughput(server) {
      return parseThroughput(await client(pin, 'tp', target(server), config.sockperfSeconds));
    },
  };
}
