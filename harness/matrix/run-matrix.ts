/**
 * Runs the interop matrix: every target of a config is started, checked by its own `echolot
 * check` process (the catalogue runner keeps one active run per process, so parallel targets need
 * separate processes), stopped, and its report moved to reports/<run-id>/<target>/.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { HarnessError } from '../errors.js';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import type { Verdict } from '../results/verdict.js';
import type { MatrixCell, MatrixColumn, MatrixResult } from '../results/matrix-result.js';

export type { MatrixCell, MatrixColumn, MatrixResult } from '../results/matrix-result.js';
import { selectCases } from '../check/selection.js';
import { newRunId } from '../core/run-id.js';
import { createDirectory } from '../core/writable.js';
import { ECHOLOT_VERSION } from '../version.js';
import type { MatrixConfig, MatrixTarget } from './config.js';
import { startTarget } from './start-target.js';

/** dist/harness/cli/main.js, run once per target. */
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Backstop for one target's check; the catalogue bounds itself well below it. */
const CHECK_TIMEOUT_MS = 240_000;

/** Progress callbacks. */
export interface MatrixHooks {
  readonly onTargetStart?: (name: string) => void;
  readonly onTargetDone?: (column: MatrixColumn) => void;
}

/** What a finished matrix run produced. */
export interface MatrixRun {
  readonly result: MatrixResult;
  /** reports/<run-id>/ */
  readonly reportDir: string;
}

interface CheckJson {
  results: {
    tests: { message: string; extra: { id: string; verdict: Verdict; attempts: number } }[];
    extra: { exitCode: number };
  };
}

/** Runs `echolot check ARGS --json`; resolves with exit code, stdout and stderr. */
function runCheckProcess(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CLI, 'check', ...args, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHECK_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ code: 70, stdout, stderr: `${stderr}${err.message}\n` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code: code ?? 70,
        stdout,
        stderr: signal ? `${stderr}killed by ${signal} after ${CHECK_TIMEOUT_MS} ms\n` : stderr,
      });
    });
  });
}

const lastLine = (s: string): string =>
  s
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-1)[0]
    ?.replace(/^echolot: /, '') ?? '';

/** The cases a target runs: the matrix selection narrowed by the target's own. */
function casesFor(config: MatrixConfig, t: MatrixTarget): string[] {
  const base = selectCases(CATALOGUE, config.check.only, config.check.exclude);
  const own = selectCases(base, t.only, t.exclude);
  return own.map((c) => c.id);
}

async function checkOne(config: MatrixConfig, t: MatrixTarget, reportDir: string): Promise<MatrixColumn> {
  const started = Date.now();
  const base = { name: t.name, description: t.description, notes: t.notes };
  let ids: string[];
  try {
    ids = casesFor(config, t);
  } catch (err) {
    return {
      ...base,
      version: 'unknown',
      status: 'error',
      reason: (err as Error).message,
      durationMs: 0,
      cells: {},
    };
  }
  let target;
  try {
    target = await startTarget(t, dirname(resolve(config.file)));
  } catch (err) {
    return {
      ...base,
      version: 'unknown',
      status: 'not-started',
      reason: (err as Error).message.split('\n')[0] ?? '',
      durationMs: Date.now() - started,
      cells: {},
    };
  }
  const about = {
    version: target.version,
    address: target.address,
    targetAddrs: target.targetAddrs,
    ...(target.commandLine === undefined ? {} : { commandLine: target.commandLine }),
    files: target.files,
    where: target.where,
    ...(target.pid === undefined ? {} : { pid: target.pid }),
  };
  const scratch = join(reportDir, `.${t.name}.tmp`);
  try {
    const args = [
      target.address,
      '--only',
      ids.join(','),
      '--seed',
      String(config.check.seed),
      '--timeout',
      String(config.check.timeoutMs),
      '--retries',
      String(config.check.retries),
      '--runs',
      String(config.check.runs),
      '--report-dir',
      scratch,
      ...(target.targetAddrs.length > 0 ? ['--target-addrs', target.targetAddrs.join(',')] : []),
      // The server's process as this host sees it: /proc/net here does not show a test host's sockets (10.4).
      ...(target.pid === undefined ? [] : ['--target-pid', String(target.pid)]),
      // A test host this run made is the run's own: its floods run as they do on loopback.
      ...(target.onOwnTestHost ? ['--i-own-the-target'] : []),
    ];
    const out = await runCheckProcess(args);
    const dest = join(reportDir, t.name);
    // The check wrote scratch/<its run id>/; the matrix names it after the target instead.
    const inner = await readdir(scratch).catch(() => [] as string[]);
    if (inner[0] !== undefined) await rename(join(scratch, inner[0]), dest);
    else await mkdir(dest, { recursive: true });
    await writeFile(join(dest, 'check.log'), `echolot check ${args.join(' ')} --json\n\n${out.stderr}`);
    let doc: CheckJson | undefined;
    try {
      doc = JSON.parse(out.stdout) as CheckJson;
    } catch {
      doc = undefined;
    }
    if (!doc) {
      return {
        ...base,
        ...about,
        status: out.code === 69 ? 'not-started' : 'error',
        reason: lastLine(out.stderr) || `echolot check exited ${out.code} without a summary`,
        exitCode: out.code,
        reportDir: t.name,
        durationMs: Date.now() - started,
        cells: {},
      };
    }
    const cells: Record<string, MatrixCell> = {};
    for (const test of doc.results.tests) {
      cells[test.extra.id] = {
        verdict: test.extra.verdict,
        message: test.message,
        attempts: test.extra.attempts,
      };
    }
    return {
      ...base,
      ...about,
      status: 'checked',
      exitCode: doc.results.extra.exitCode,
      reportDir: t.name,
      durationMs: Date.now() - started,
      cells,
    };
  } finally {
    await target.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Runs every target of `config` (at most `concurrency` at once) and returns the matrix; writes only the per-target reports. */
export async function runMatrix(
  config: MatrixConfig,
  options: {
    readonly reportDir?: string;
    readonly only?: readonly string[];
    readonly targets?: readonly string[];
  } = {},
  hooks: MatrixHooks = {},
): Promise<MatrixRun> {
  let chosen = config.targets;
  if (options.targets && options.targets.length > 0) {
    const unknown = options.targets.filter((n) => !config.targets.some((t) => t.name === n));
    if (unknown.length > 0) {
      throw new HarnessError(
        'ERR_ECHOLOT_USAGE',
        `--targets: ${unknown.join(', ')} not in ${config.file} (targets: ${config.targets.map((t) => t.name).join(', ')})`,
      );
    }
    chosen = config.targets.filter((t) => options.targets?.includes(t.name));
  }
  const effective: MatrixConfig =
    options.only && options.only.length > 0
      ? { ...config, check: { ...config.check, only: options.only }, targets: chosen }
      : { ...config, targets: chosen };
  const rows = selectCases(CATALOGUE, effective.check.only, effective.check.exclude);
  // A target whose own selection leaves nothing is a config error, found before anything starts.
  for (const t of effective.targets) {
    try {
      casesFor(effective, t);
    } catch (err) {
      throw new HarnessError(
        'ERR_ECHOLOT_USAGE',
        `${config.file}: target ${t.name}: ${(err as Error).message}`,
      );
    }
  }
  const runId = newRunId();
  const reportDir = resolve(options.reportDir ?? 'reports', runId);
  const why = await createDirectory(reportDir);
  if (why !== undefined)
    throw new HarnessError('ERR_ECHOLOT_IO', `--report-dir ${options.reportDir ?? 'reports'}: ${why}`);
  const startedAt = new Date();
  const limit = pLimit(effective.concurrency);
  const columns = await Promise.all(
    effective.targets.map((t) =>
      limit(async () => {
        hooks.onTargetStart?.(t.name);
        const column = await checkOne(effective, t, reportDir);
        hooks.onTargetDone?.(column);
        return column;
      }),
    ),
  );
  const finishedAt = new Date();
  return {
    reportDir,
    result: {
      format: 'echolot-matrix/1',
      runId,
      title: effective.title,
      tool: { name: 'echolot', version: ECHOLOT_VERSION },
      config: effective.file,
      check: effective.check,
      concurrency: effective.concurrency,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      cases: rows.map((c) => ({ id: c.id, title: c.title, klass: c.klass })),
      columns,
    },
  };
}
