import { checkRunIdentity } from './run-info.js';
import type { CaseDefinition } from '../results/case-definition.js';
import type { CaseResult } from '../results/case-result.js';
import { summarize, type RunInfo, type Summary } from '../results/summary.js';
import type { DatagramAccounting } from '../results/run-info.js';
import { resolveCheckOptions, type CheckOptions } from '../conformance/options.js';
import { selectCases } from './selection.js';
import { acquireTarget, unreachableError, type Target } from '../target/acquire.js';
import {
  checkExpectationsWritable,
  loadExpectations,
  updateExpectations,
  writeExpectations,
  type Expectations,
  type ExpectationChange,
} from '../results/expectations.js';

import { probeCapabilities } from '../net/capabilities.js';
import { CATALOGUE, SECTIONS } from '../../suites/conformance/catalogue.js';
import { runCatalogue, type SilentTarget } from './catalogue-run.js';
import { explainSilence } from '../probes/silence.js';
import type { PreflightResult } from '../target/preflight.js';
import { newRunId } from '../core/run-id.js';

/** Callbacks for progress while a check runs. */
export interface CheckHooks {
  /** Called after preflight, before the first case. */
  readonly onStart?: (run: RunInfo, selected: readonly CaseDefinition[]) => void;
  /** Called as each case starts running. */
  readonly onCaseStart?: (c: { readonly id: string; readonly title: string }) => void;
  /** Called as each case is graded. */
  readonly onCase?: (result: CaseResult) => void;
  /** Called when something that showed after a case ended (a late copy, a stray) changes its result. */
  readonly onAmend?: (result: CaseResult, before: CaseResult) => void;
  /**
   * Interrupts the run: once aborted, the case under way and every later one are NOT-RUN, and the run
   * ends with what it has (RunInfo.interrupted names the abort's reason, e.g. "SIGINT").
   */
  readonly signal?: AbortSignal;
}

/** What a finished check produced (harness/report/check.ts turns it into files). */
export interface CheckRun {
  readonly summary: Summary;
  /** mochawesome's document of the run (every case with its evidence). */
  readonly mochawesome: unknown;
  /** What --update-expectations wrote: the file, the target key and the changes (absent without the option). */
  readonly expectationsUpdate?: {
    readonly file: string;
    readonly targetKey: string;
    readonly changes: readonly ExpectationChange[];
  };
}

/** Which datagram I/O path the harness uses. */
export const IO_PATH = 'node:dgram';

/** Every case ID of the catalogue (what an expectations file may name). */
const CASE_IDS: ReadonlySet<string> = new Set(CATALOGUE.map((c) => c.id));

/**
 * Runs the conformance catalogue: resolve and validate, start the embedded server when there is
 * no target, preflight, run the selected cases under mocha, summarise. Writes no report: that is
 * harness/report/ (`checkReport` + `writeReport`); writes the expectations file when asked to.
 * Throws HarnessError for usage errors (64), unreachable targets (69) and harness faults (70).
 */
export async function runCheck(input: CheckOptions = {}, hooks: CheckHooks = {}): Promise<CheckRun> {
  const options = resolveCheckOptions(input);
  const selected = selectCases(CATALOGUE, options.only, options.exclude);
  // Both files are read before anything runs: a malformed file is a usage error, not a wasted run.
  const expectations =
    options.expectations === undefined
      ? undefined
      : await loadExpectations(options.expectations, '--expectations', CASE_IDS);
  const toUpdate =
    options.updateExpectations === undefined
      ? undefined
      : {
          file: options.updateExpectations,
          existing: await loadExpectations(
            options.updateExpectations,
            '--update-expectations',
            CASE_IDS,
            true,
          ),
        };
  // The file to update must be writable now, not only after the run (whose verdicts would be lost).
  if (toUpdate) await checkExpectationsWritable(toUpdate.file);
  const capabilities = await probeCapabilities();
  /**
   * A target that answered none of the preflight's echoes: when a socket is bound to its port, or
   * the wire shows its replies going elsewhere, that is the finding of a case (which FAILs, and the
   * rest are not run); otherwise, or when that case is not selected, the target is unreachable (69).
   */
  const whySilent = async (target: Target, pre: PreflightResult): Promise<SilentTarget> => {
    const why = await explainSilence(target, {
      attempts: 2,
      timeoutMs: options.timeoutMs,
      rawSockets: capabilities.rawSockets,
      localAddresses: capabilities.localAddresses,
    });
    const named = why.caseId;
    if (named === undefined || !selected.some((c) => c.id === named)) {
      throw unreachableError(
        target,
        pre,
        why.diagnosis === '' ? pre.diagnosis : `${pre.diagnosis}; ${why.diagnosis}`,
      );
    }
    return {
      caseId: named,
      diagnosis: `the target never answered: ${why.diagnosis}`,
      evidence: why.evidence,
    };
  };
  const acquired = await acquireTarget(options.target, {
    embedded: 'in-process',
    keepSilent: true,
    ...(options.preflight ? { preflight: { attempts: 3, timeoutMs: options.timeoutMs, measure: true } } : {}),
  });
  try {
    const { target, server } = acquired;
    const silent =
      acquired.preflight?.reachable === false ? await whySilent(target, acquired.preflight) : undefined;
    const pre = acquired.preflight ?? {
      reachable: true,
      diagnosis: 'preflight skipped (--no-preflight)',
      note: 'preflight skipped (--no-preflight)',
    };

    const runId = newRunId();
    const startedAt = new Date();
    const runInfo = (finishedAt: Date, datagrams?: DatagramAccounting, interrupted?: string): RunInfo => ({
      ...checkRunIdentity(runId, target, options, selected, capabilities.privileged),
      capabilities,
      // The probes always use node:dgram; the embedded reference server may run on the native module.
      ioPath: server?.io === 'native' ? `native reference server; probes ${IO_PATH}` : IO_PATH,
      preflight: {
        rttMs: ('rttMs' in pre ? pre.rttMs : undefined) ?? 0,
        ...(pre.note ? { note: pre.note } : {}),
      },
      ...(datagrams ? { datagrams } : {}),
      ...(interrupted === undefined ? {} : { interrupted }),
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    });
    hooks.onStart?.(runInfo(startedAt), selected);

    const run = await runCatalogue({
      runId,
      sections: SECTIONS,
      selected: new Set(selected.map((c) => c.id)),
      target,
      ...(server ? { server } : {}),
      options,
      capabilities,
      ...(acquired.preflight?.timing ? { pace: acquired.preflight.timing } : {}),
      ...(silent ? { silent } : {}),
      onCaseStart: (c) => hooks.onCaseStart?.(c),
      onCase: (result) => hooks.onCase?.(result),
      onAmend: (result, before) => hooks.onAmend?.(result, before),
      ...(hooks.signal ? { interrupt: hooks.signal } : {}),
    });

    const info = runInfo(new Date(), run.ledger, run.interrupted);
    const results = run.results;
    let update: CheckRun['expectationsUpdate'];
    let judgeBy: { expectations: Expectations | undefined; file: string } | undefined =
      expectations && options.expectations !== undefined
        ? { expectations, file: options.expectations }
        : undefined;
    // An interrupted run leaves cases unjudged: it would drop their entries, so the file is left as it is.
    if (toUpdate && info.interrupted === undefined) {
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
    return { summary, mochawesome: run.mochawesome, ...(update ? { expectationsUpdate: update } : {}) };
  } finally {
    await acquired.close();
  }
}
