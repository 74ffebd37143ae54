/** What the bench asks of the machine: commands run to completion, the C baselines built, CPUs to pin to. */
import { execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BrokenSetup, ROOT, type BenchConfig } from './config.js';

const C_SOURCES = ['echo-mmsg', 'echo-loop', 'gen-mmsg', 'rate-pacer'] as const;

/** The commands run() is waiting for (a generator measuring a row, the compiler, sockperf's client). */
const running = new Set<ChildProcess>();

/** Set once the bench is interrupted: no command starts any more, and those stopped report nothing. */
let stopping = false;

/** Runs a command to completion with a bounded wait. */
export function run(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // The process exits once it has stopped what runs: a row that was measuring gets no result (no
  // "broken setup" for a generator that was killed), and the next one does not start.
  if (stopping) return new Promise(() => undefined);
  return new Promise((done) => {
    const child = execFile(
      command,
      [...args],
      { timeout: timeoutMs, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        running.delete(child);
        if (stopping) return;
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        done({ code, stdout, stderr: stderr || (err?.message ?? '') });
      },
    );
    running.add(child);
  });
}

/** Stops every command run() is waiting for and waits for their ends (the bench was interrupted). */
export async function stopCommands(): Promise<void> {
  stopping = true;
  await Promise.all(
    [...running].map((child) => {
      const closed = once(child, 'close');
      child.kill('SIGTERM');
      return closed;
    }),
  );
}

/** Compiles each C program into bench/build/ when the binary is missing or older than its source. */
export async function buildC(): Promise<{ built: string[]; dir: string }> {
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
export interface Pinning {
  readonly generatorCpu?: number;
  readonly serverCpu?: number;
  readonly note: string;
}

/** Pins this process to the generator CPU when it can, and says where everything runs. */
export async function decidePinning(config: BenchConfig): Promise<Pinning> {
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

/** The command line that runs `command` on `cpu` (unchanged without one). */
export function pinned(
  cpu: number | undefined,
  command: string,
  args: readonly string[],
): [string, string[]] {
  return cpu === undefined ? [command, [...args]] : ['taskset', ['-c', String(cpu), command, ...args]];
}
