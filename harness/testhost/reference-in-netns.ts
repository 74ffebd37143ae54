import { fileURLToPath } from 'node:url';
import type { HostProcess, TestHost } from './netns.js';
import { LISTENING_PATTERN, START_TIMEOUT_MS, waitForLine } from '../target/child-server.js';

/** dist/harness/cli/main.js, the CLI the namespace runs (the same build as this module). */
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

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
  return startListeningProcess(host, process.execPath, args, LISTENING_PATTERN);
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
  try {
    const match = await waitForLine(proc.child, ready, START_TIMEOUT_MS);
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
