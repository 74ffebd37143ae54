/**
 * `echolot load --suite`: runs the load gates of suites/load under mocha against one target and
 * writes reports/<run-id>/ like `echolot check` does: mochawesome.html/json, summary.json (CTRF,
 * one test per gate) and junit.xml.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../errors.js';
import { preflight } from '../probes/preflight.js';
import { xmlAttr, xmlText } from '../reporters/junit.js';
import { runMocha, specFiles } from '../runner/mocha-run.js';
import { newRunId } from '../runner/run-id.js';
import { formatEndpoint, parseTarget, resolveTarget } from '../spec/target.js';
import { ECHOLOT_VERSION } from '../version.js';
import { startEmbeddedServer, type ChildServer } from './embedded-server.js';
import { clearActiveLoadSuite, setActiveLoadSuite, type GateRecord } from './suite.js';

/** Where the compiled load gates live (dist/suites/load). */
export const LOAD_SUITE_DIR = fileURLToPath(new URL('../../suites/load/', import.meta.url));

/** Options of a suite run. */
export interface LoadSuiteOptions {
  /** HOST:PORT; absent = the reference server in a child process on loopback. */
  readonly target?: string;
  /** @defaultValue 'reports' */
  readonly reportDir?: string;
  readonly ownTarget?: boolean;
  /** Spec files to run (tests); default every suites/load/*.spec.js. */
  readonly files?: readonly string[];
  /** Called as each gate ends. */
  readonly onGate?: (g: GateRecord) => void;
}

/** What a suite run produced. */
export interface LoadSuiteRun {
  readonly runId: string;
  readonly target: {
    readonly input: string;
    readonly address: string;
    readonly port: number;
    readonly embedded: boolean;
  };
  readonly gates: readonly GateRecord[];
  /** 0 every gate passed, 1 a threshold breached, 70 a gate could not run. */
  readonly exitCode: number;
  readonly reportDir: string;
  readonly files: {
    readonly summaryJson: string;
    readonly junitXml: string;
    readonly mochawesomeHtml: string;
  };
  readonly startedAt: string;
  readonly durationMs: number;
}

/** Backstop per gate; each gate sets its own, tighter timeout from its durations. */
const GATE_TIMEOUT_MS = 60_000;

const statusOf = (g: GateRecord): 'passed' | 'failed' | 'other' =>
  g.error !== undefined ? 'other' : g.passed ? 'passed' : 'failed';

const messageOf = (g: GateRecord): string =>
  g.error ??
  (g.thresholds.length === 0
    ? 'no thresholds'
    : g.thresholds
        .map((t) => `${t.ok ? 'ok' : 'FAIL'} ${t.threshold} (actual ${String(t.actual)})`)
        .join('; '));

/** summary.json: CTRF with one test per gate (suite = its spec file), the load figures in `extra`. */
export function renderLoadSuiteSummary(run: Omit<LoadSuiteRun, 'files' | 'reportDir'>): string {
  const start = Date.parse(run.startedAt);
  const count = (s: string): number => run.gates.filter((g) => statusOf(g) === s).length;
  const doc = {
    reportFormat: 'CTRF',
    specVersion: '0.0.0',
    generatedBy: `echolot ${ECHOLOT_VERSION}`,
    results: {
      tool: { name: 'echolot', version: ECHOLOT_VERSION },
      summary: {
        tests: run.gates.length,
        passed: count('passed'),
        failed: count('failed'),
        skipped: 0,
        pending: 0,
        other: count('other'),
        start,
        stop: start + run.durationMs,
      },
      tests: run.gates.map((g) => ({
        name: g.title,
        status: statusOf(g),
        duration: g.durationMs,
        message: messageOf(g),
        suite: `load/${
          g.file
            .split(/[\\/]/)
            .pop()
            ?.replace(/\.js(\?.*)?$/, '.ts') ?? ''
        }`,
        extra: {
          thresholds: g.thresholds,
          ...(g.result
            ? {
                loadRunId: g.result.runId,
                mode: g.result.mode,
                counters: g.result.counters,
                rates: g.result.rates,
                response: g.result.response,
                generator: g.result.generator,
              }
            : {}),
        },
      })),
      environment: {
        appName: 'echolot load --suite',
        extra: { runId: run.runId, target: run.target, exitCode: run.exitCode },
      },
    },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** junit.xml: one testsuite, one testcase per gate. */
export function renderLoadSuiteJunit(run: Omit<LoadSuiteRun, 'files' | 'reportDir'>): string {
  const failed = run.gates.filter((g) => statusOf(g) === 'failed').length;
  const errors = run.gates.filter((g) => statusOf(g) === 'other').length;
  const cases = run.gates.map((g) => {
    const head = `    <testcase classname="load" name="${xmlAttr(g.title)}" time="${(g.durationMs / 1000).toFixed(3)}"`;
    const s = statusOf(g);
    if (s === 'passed') return `${head}/>`;
    const tag = s === 'failed' ? 'failure' : 'error';
    return `${head}>\n      <${tag} message="${xmlAttr(messageOf(g))}">${xmlText(messageOf(g))}</${tag}>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="echolot load --suite" tests="${run.gates.length}" failures="${failed}" errors="${errors}" time="${(run.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="load" tests="${run.gates.length}" failures="${failed}" errors="${errors}" timestamp="${run.startedAt}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/**
 * Runs the load gates: resolve the target (or start the embedded server), preflight it, run the
 * specs under mocha with mochawesome, then write summary.json and junit.xml.
 * Throws HarnessError for usage errors (64), an unreachable target (69) and unwritable reports (74).
 */
export async function runLoadSuite(options: LoadSuiteOptions = {}): Promise<LoadSuiteRun> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  let server: ChildServer | undefined;
  try {
    let target: LoadSuiteRun['target'];
    if (options.target === undefined) {
      server = await startEmbeddedServer();
      target = { input: 'embedded', address: server.address, port: server.port, embedded: true };
    } else {
      const t = await resolveTarget(parseTarget(options.target));
      const pre = await preflight(t, { attempts: 3, timeoutMs: 1000 });
      if (!pre.reachable) throw new HarnessError('ERR_ECHOLOT_UNREACHABLE', pre.diagnosis);
      target = { input: t.input, address: t.address, port: t.port, embedded: false };
    }
    const runId = newRunId(new Date(started));
    const reportDir = resolve(options.reportDir ?? 'reports', runId);
    await mkdir(reportDir, { recursive: true }).catch((err: unknown) => {
      throw new HarnessError(
        'ERR_ECHOLOT_IO',
        `--report-dir ${options.reportDir ?? 'reports'}: cannot create ${reportDir}`,
        {
          cause: err,
        },
      );
    });
    const gates: GateRecord[] = [];
    setActiveLoadSuite({
      runId,
      target: formatEndpoint(target.address, target.port),
      ownTarget: options.ownTarget ?? false,
      record: (g) => {
        gates.push(g);
        options.onGate?.(g);
      },
    });
    try {
      await runMocha({
        files: options.files ?? specFiles(LOAD_SUITE_DIR),
        runId,
        reportDir,
        timeoutMs: GATE_TIMEOUT_MS,
        reportTitle: `echolot load --suite ${runId}`,
        pageTitle: 'echolot load gates',
      });
    } finally {
      clearActiveLoadSuite();
    }
    const exitCode = gates.some((g) => g.error !== undefined) ? 70 : gates.every((g) => g.passed) ? 0 : 1;
    const run = { runId, target, gates, exitCode, startedAt, durationMs: Date.now() - started };
    const files = {
      summaryJson: join(reportDir, 'summary.json'),
      junitXml: join(reportDir, 'junit.xml'),
      mochawesomeHtml: join(reportDir, 'mochawesome.html'),
    };
    try {
      await writeFile(files.summaryJson, renderLoadSuiteSummary(run));
      await writeFile(files.junitXml, renderLoadSuiteJunit(run));
    } catch (err) {
      throw new HarnessError('ERR_ECHOLOT_IO', `cannot write the reports into ${reportDir}`, { cause: err });
    }
    return { ...run, reportDir, files };
  } finally {
    await server?.close();
  }
}
