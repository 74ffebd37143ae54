/** The reference server in a child process, so that generator and server never share an event loop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../errors.js';

/** A running child-process echo server. */
export interface ChildServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3000;

/** Waits for the child's exit, escalating to SIGKILL after a bound. */
async function stopChild(child: ChildProcess): Promise<void> {
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

/**
 * Spawns `node <script> ...args` and waits for a stdout line "listening on udp port N" (the format of
 * `echolot serve` and of the test fixtures). Rejects with ERR_ECHOLOT_INTERNAL, quoting stderr, when
 * the child exits or stays silent.
 */
export async function spawnEchoServer(script: string, args: readonly string[]): Promise<ChildServer> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`no "listening on udp port" line within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (d: string) => {
        out += d;
        const m = /listening on udp port (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited (${signal ?? `code ${String(code)}`}) before listening`));
      });
    });
    // Keep reading stdout so a chatty child can never block on a full pipe.
    child.stdout?.resume();
    return { address: '127.0.0.1', port, close: () => stopChild(child) };
  } catch (err) {
    await stopChild(child);
    const why = err instanceof Error ? err.message : String(err);
    throw new HarnessError(
      'ERR_ECHOLOT_INTERNAL',
      `cannot start the echo server ${script}: ${why}${stderr ? ` (stderr: ${stderr.trim()})` : ''}`,
      { cause: err },
    );
  }
}

/** Starts the reference server (`echolot serve --port 0 --bind 127.0.0.1`) in a child process. */
export function startEmbeddedServer(): Promise<ChildServer> {
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return spawnEchoServer(main, ['serve', '--port', '0', '--bind', '127.0.0.1']);
}
