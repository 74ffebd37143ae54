import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { platform } from 'node:os';
import { HarnessError } from '../errors.js';
import { CATALOGUE, type CaseDefinition } from '../results/catalogue.js';
import { Collector } from '../results/collector.js';
import type { CaseResult } from '../results/case-result.js';
import { summarize, type RunInfo, type Summary } from '../results/summary.js';
import { preflight } from '../probes/preflight.js';
import { resolveCheckOptions, type CheckOptions } from '../spec/check-options.js';
import { selectCases } from '../spec/selection.js';
import { parseTarget, resolveTarget, type ResolvedTarget } from '../spec/target.js';
import { renderSummaryJson } from '../reporters/summary-json.js';
import { renderJunit } from '../reporters/junit.js';
import { loadChartAssets } from '../reporters/html-assets.js';
import { renderIndexHtml } from '../reporters/html-report.js';
import {
  loadExpectations,
  updateExpectations,
  writeExpectations,
  type Expectations,
  type ExpectationChange,
} from '../results/expectations.js';
import { ECHOLOT_VERSION } from '../version.js';
import { clearActiveRun, setActiveRun } from './active-run.js';
import { probeCapabilities } from './capabilities.js';
import { startEmbeddedServer } from './embedded-server.js';
import { CONFORMANCE_DIR, runMocha, specFiles } from './mocha-run.js';
import { newRunId } from './run-id.js';
import type { ReferenceServer } from '../../reference-server/index.js';

/** Callbacks for progress while a check runs. */
export interface CheckHooks {
  /** Called after preflight, before the first case. */
  readonly onStart?: (run: RunInfo, selected: readonly CaseDefinition[]) => void;
  /** Called as each case is graded. */
  readonly onCase?: (result: CaseResult) => void;
}

/** What a finished check produced. */
export interface CheckRun {
  readonly summary: Summary;
  /** reports/<run-id>/ */
  readonly reportDir: string;
  /** Files written into reportDir, by kind. */
  readonly files: {
    /** The self-contained HTML report (opens from disk, links to the others). */
    readonly indexHtml: string;
    readonly summaryJson: string;
    readonly junitXml: string;
    readonly mochawesomeHtml: string;
    readonly mochawesomeJson: string;
  };
  /** What --update-expectations wrote: the file, the target key and the changes (absent without the option). */
  readonly expectationsUpdate?: {
    readonly file: string;
    readonly targetKey: string;
    readonly changes: readonly ExpectationChange[];
  };
}

/** Which datagram I/O path the harness uses. */
export const IO_PATH = 'node:dgram';

/** Per-test backstop; every case's own waits are bounded well below it. */
const CASE_TIMEOUT_MS = 180_000;

/**
 * Runs the conformance catalogue: resolve and validate, start the embedded server when there is
 * no target, preflight, run the selected specs under mocha, summarise, write the reports.
 * Throws HarnessError for usage errors (64), unreachable targets (69) and harness faults (70).
 */
export async function runCheck(input: CheckOptions = {}, hooks: CheckHooks = {}): Promise<CheckRun> {
  const options = resolveCheckOptions(input);
  const selected = selectCases(CATALOGUE, options.only, options.exclude);
  // Both files are read before anything runs: a malformed file is a usage error, not a wasted run.
  const expectations =
    options.expectations === undefined
      ? undefined
      : await loadExpectations(options.expectations, '--expectations');
  const toUpdate =
    options.updateExpectations === undefined
      ? undefined
      : {
          file: options.updateExpectations,
          existing: await loadExpectations(options.updateExpectations, '--update-expectations', true),
        };
  const parsed = options.target === undefined ? undefined : parseTarget(options.target);
  const capabilities = await probeCapabilities();
  let server: ReferenceServer | undefined;
  try {
    let target: ResolvedTarget;
    if (parsed) {
      target = await resolveTarget(parsed);
    } else {
      server = await startEmbeddedServer();
      target = {
        input: 'embedded reference server',
        host: '127.0.0.1',
        port: server.port,
        address: '127.0.0.1',
        family: 'IPv4',
      };
    }
    const pre = options.preflight
      ? await preflight(target, { attempts: 3, timeoutMs: Math.min(options.timeoutMs, 1000) })
      : {
          reachable: true,
          diagnosis: 'preflight skipped (--no-preflight)',
          note: 'preflight skipped (--no-preflight)',
        };
    if (!pre.reachable) throw new HarnessError('ERR_ECHOLOT_UNREACHABLE', pre.diagnosis);

    const runId = newRunId();
    const reportDir = resolve(options.reportDir, runId);
    await mkdir(reportDir, { recursive: true }).catch((err: unknown) => {
      throw new HarnessError(
        'ERR_ECHOLOT_IO',
        `--report-dir ${options.reportDir}: cannot create ${reportDir}`,
        { cause: err },
      );
    });
    const collector = new Collector();
    if (hooks.onCase) collector.onResult(hooks.onCase);
    const startedAt = new Date();
    const runInfo = (finishedAt: Date): RunInfo => ({
      runId,
      tool: { name: 'echolot', version: ECHOLOT_VERSION },
      target: {
        input: target.input,
        host: target.host,
        address: target.address,
        port: target.port,
        family: target.family,
        embedded: server !== undefined,
      },
      options: {
        strict: options.strict,
        selected: selected.map((c) => c.id),
        seed: options.seed,
        timeoutMs: options.timeoutMs,
        retries: options.retries,
      },
      platform: { os: platform(), node: process.version, privileged: capabilities.privileged },
      capabilities,
      // The probes always use node:dgram; the embedded reference server may run on the native module.
      ioPath: server?.io === 'native' ? `native reference server; probes ${IO_PATH}` : IO_PATH,
      preflight: {
        rttMs: ('rttMs' in pre ? pre.rttMs : undefined) ?? 0,
        ...(pre.note ? { note: pre.note } : {}),
      },
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    });
    hooks.onStart?.(runInfo(startedAt), selected);

    setActiveRun({
      runId,
      target,
      embedded: server !== undefined,
      options,
      selected: new Set(selected.map((c) => c.id)),
      collector,
      capabilities,
    });
    try {
      await runMocha({ files: specFiles(CONFORMANCE_DIR), runId, reportDir, timeoutMs: CASE_TIMEOUT_MS });
    } finally {
      clearActiveRun();
    }

    const info = runInfo(new Date());
    const results = collector.results();
    let update: CheckRun['expectationsUpdate'];
    let judgeBy: { expectations: Expectations | undefined; file: string } | undefined =
      expectations && options.expectations !== undefined
        ? { expectations, file: options.expectations }
        : undefined;
    if (toUpdate) {
      // The verdicts of this run, ERROR for a selected case that recorded none (as summarize does).
      const verdicts = summarize(info, selected, results).cases;
      const merged = updateExpectations(toUpdate.existing, info, verdicts);
      await writeExpectations(toUpdate.file, merged.expectations);
      update = { file: toUpdate.file, targetKey: merged.key, changes: merged.changes };
      // Without --expectations the run is judged by the file just written: only an ERROR is left unexpected.
      judgeBy ??= { expectations: merged.expectations, file: toUpdate.file };
    }
    const summary = summarize(info, selected, results, {
      ...(judgeBy?.expectations ? { expectations: judgeBy.expectations } : {}),
      ...(judgeBy ? { file: judgeBy.file } : {}),
      failOnUnexpectedPass: options.failOnUnexpectedPass,
    });
    const files = {
      indexHtml: join(reportDir, 'index.html'),
      summaryJson: join(reportDir, 'summary.json'),
      junitXml: join(reportDir, 'junit.xml'),
      mochawesomeHtml: join(reportDir, 'mochawesome.html'),
      mochawesomeJson: join(reportDir, 'mochawesome.json'),
    };
    await writeFile(files.summaryJson, renderSummaryJson(summary));
    await writeFile(files.junitXml, renderJunit(summary));
    const html = renderIndexHtml(
      {
        check: summary,
        links: [
          { label: 'mochawesome report', href: 'mochawesome.html' },
          { label: 'summary.json (CTRF)', href: 'summary.json' },
          { label: 'junit.xml', href: 'junit.xml' },
        ],
      },
      await loadChartAssets(),
    );
    await writeFile(files.indexHtml, html);
    return { summary, reportDir, files, ...(update ? { expectationsUpdate: update } : {}) };
  } finally {
    await server?.close();
  }
}
