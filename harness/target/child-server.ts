/**
 * Echo servers in child processes: the "listening on udp port N" line they print once bound (the
 * one format every server the harness starts prints: `echolot serve`, the fixtures, the bench
 * servers), waiting for it, and stopping the child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../errors.js';

/** A running child-process echo server. */
export interface ChildServer {
  readonly address: string;
  readonly port: number;
  /** The child's pid (for /proc readings of its memory and descriptors). */
  readonly pid: number | undefined;
  close(): Promise<void>;
}

/** Bound on a child's start-up: from spawn to its listening line. */
export const START_TIMEOUT_MS = 10_000;

/** Bound on a child's exit after SIGTERM, before SIGKILL. */
const STOP_TIMEOUT_MS = 3000;

/** The line a server prints once bound: `listening on udp port N` (a prefix and details may surround it). */
export function listeningLine(port: number): string {
  return `listening on udp port ${port}`;
}

/** Matches the listening line anywhere in a server's output; group 1 is the port. */
export const LISTENING_PATTERN = /listening on udp port (\d+)/;

/** The port of the first listening line in `output`, or undefined. */
export function parseListeningPort(output: string): number | undefined {
  const m = LISTENING_PATTERN.exec(output);
  return m ? Number(m[1]) : undefined;
}

/**
 * Waits until the child's stdout matches `pattern` (the listening line by default) and returns the
 * match; rejects when the child exits, fails to spawn or stays silent for `timeoutMs`, quoting the
 * end of its stderr. Keeps reading stdout afterwards, so a chatty child never blocks on a full pipe.
 */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp = LISTENING_PATTERN,
  timeoutMs = START_TIMEOUT_MS,
): Promise<RegExpExecArray> {
  let stdout = '';
  let stderr = '';
  const onErr = (d: Buffer | string): void => {
    stderr = (stderr + d.toString()).slice(-2000);
  };
  child.stderr?.on('data', onErr);
  const quoted = (): string => (stderr.trim() ? ` (stderr: ${stderr.trim()})` : '');
  return new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`no line matching ${String(pattern)} within ${timeoutMs} ms${quoted()}`)),
      timeoutMs,
    );
    const onData = (d: Buffer | string): void => {
      stdout += d.toString();
      const m = pattern.exec(stdout);
      if (m) finish(undefined, m);
    };
    const onError = (err: Error): void => finish(err);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      finish(new Error(`exited (${signal ?? `code ${String(code)}`}) before listening${quoted()}`));
    function finish(err: Error | undefined, m?: RegExpExecArray): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('error', onError);
      child.off('exit', onExit);
      child.stderr?.off('data', onErr);
      child.stdout?.resume();
      if (m) resolve(m);
      else reject(err ?? new Error('no listening line'));
    }
    child.stdout?.on('data', onData);
    child.once('error', onError);
    child.once('exit', onExit);
  });
}

/** Waits for the child's exit, escalating to SIGKILL after a bound. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The module every child server loads first: it stops the child when the harness is gone. */
const PARENT_WATCH = new URL('./parent-watch.js', import.meta.url).href;

/**
 * Spawns `node <script> ...args` and waits for its listening line. Rejects with
 * ERR_ECHOLOT_INTERNAL, quoting stderr, when the child exits or stays silent. The child dies with
 * the harness (and only with it, not with a signal to the harness's process group): it gets a pipe as descriptor 3 and parent-watch.ts stops it when the pipe closes,
 * which the kernel does when this process ends for any reason (SIGKILL included).
 */
export async function spawnEchoServer(script: string, args: readonly string[]): Promise<ChildServer> {
  // Its own process group: a terminal's Ctrl-C reaches the harness only, which stops its run (the
  // server still answers the replies on their way) and then the server.
  const child = spawn(process.execPath, ['--import', PARENT_WATCH, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  try {
    const port = Number((await waitForLine(child))[1]);
    return { address: '127.0.0.1', port, pid: child.pid, close: () => stopChild(child) };
  } catch (err) {
    await stopChild(child);
    const why = err instanceof Error ? err.message : String(err);
    throw new HarnessError('ERR_ECHOLOT_INTERNAL', `cannot start the echo server ${script}: ${why}`, {
      cause: err,
    });
  }
}

/** Starts the reference server (`echolot serve --port 0 --bind 127.0.0.1`) in a child process. */
export function startReferenceServerChild(): Promise<ChildServer> {
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return spawnEchoServer(main, ['serve', '--port', '0', '--bind', '127.0.0.1']);
}
