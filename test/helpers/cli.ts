import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** dist/harness/cli/main.js, the CLI as a user runs it. */
export const CLI = fileURLToPath(new URL('../../harness/cli/main.js', import.meta.url));

/** What a finished CLI run printed and returned. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** Process id of the run (names its test hosts). */
  readonly pid: number | undefined;
}

/** The variables of a GitHub Actions job: a test's CLI run must not annotate the job or write its summary. */
const WITHOUT_CI: NodeJS.ProcessEnv = { GITHUB_ACTIONS: undefined, GITHUB_STEP_SUMMARY: undefined };

/** Runs `echolot ARGS` to completion (killed after `timeoutMs`) and collects its output. */
export function runCli(
  args: readonly string[],
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...WITHOUT_CI, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started, pid: child.pid });
    });
  });
}

/** test/support/loopback-only.js, preloaded by runCliLoopbackOnly (never imported by a test process). */
export const LOOPBACK_ONLY = new URL('../support/loopback-only.js', import.meta.url).href;

/** The exit code of a run that loopback-only stopped: it tried to reach an address other than loopback. */
export const LOOPBACK_ONLY_EXIT = 99;

/**
 * Runs `echolot ARGS` as runCli does, on node:dgram (ECHOLOT_IO=dgram) with test/support/loopback-only
 * preloaded: a datagram towards any address but loopback ends the run (exit LOOPBACK_ONLY_EXIT)
 * before it leaves. For tests that give a non-loopback target only to see it refused.
 */
export function runCliLoopbackOnly(args: readonly string[], timeoutMs = 60_000): Promise<CliResult> {
  const inherited = process.env['NODE_OPTIONS'] ?? '';
  return runCli(args, timeoutMs, {
    ECHOLOT_IO: 'dgram',
    NODE_OPTIONS: `${inherited} --import=${LOOPBACK_ONLY}`.trim(),
  });
}

/** The verdict of each case in a summary.json printed by `echolot check --json`. */
export function verdictsOf(summaryJson: string): Map<string, string> {
  const doc = JSON.parse(summaryJson) as { results: { tests: { extra: { id: string; verdict: string } }[] } };
  return new Map(doc.results.tests.map((t) => [t.extra.id, t.extra.verdict]));
}
