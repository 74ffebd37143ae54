import { fileURLToPath } from 'node:url';
import type { HostProcess, TestHost } from './netns.js';

/** dist/harness/cli/main.js, the CLI the namespace runs (the same build as this module). */
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** How long the server inside may take to print its listening line. */
const START_TIMEOUT_MS = 10_000;

/** The reference server running inside a test host. */
export interface NamespacedServer {
  readonly port: number;
  /** The listening line it printed. */
  readonly listening: string;
  readonly process: HostProcess;
  /** Stops the server (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

/**
 * Starts `echolot serve --port PORT --bind ADDR...` inside `host` and waits for its
 * "listening on udp port" line; port 0 lets it pick one ephemeral port for every address.
 */
export async function startReferenceServerIn(
  host: TestHost,
  options: { readonly port?: number; readonly bind: readonly string[] },
): Promise<NamespacedServer> {
  const args = [CLI, 'serve', '--port', String(options.port ?? 0), '--quiet'];
  for (const b of options.bind) args.push('--bind', b);
  return startListeningProcess(host, process.execPath, args, /listening on udp port (\d+)/);
}

/**
 * Starts `command args` inside `host` and waits until a stdout line matches `ready` (whose first
 * group is the port); on exit or timeout before that, the process is stopped and this rejects.
 */
export async function startListeningProcess(
  host: TestHost,
  command: string,
  args: readonly string[],
  ready: RegExp,
): Promise<NamespacedServer> {
  const proc = host.spawn(command, args);
  let stdout = '';
  let stderr = '';
  try {
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no listening line within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`)),
        START_TIMEOUT_MS,
      );
      proc.child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = ready.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      proc.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      proc.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited (${signal ?? code}) before listening: ${stderr.trim()}`));
      });
      proc.child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    return {
      port: Number(match[1]),
      listening: match[0],
      process: proc,
      stop: () => proc.stop(),
    };
  } catch (err) {
    await proc.stop();
    throw new Error(`starting ${args.join(' ')} in ${host.name}: ${(err as Error).message}`, { cause: err });
  }
}
