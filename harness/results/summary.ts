export type { RunInfo } from './run-info.js';
import type { CaseDefinition } from './case-definition.js';
import type { RunInfo } from './run-info.js';
import type { CaseResult } from './case-result.js';
import { VERDICTS, type Verdict } from './verdict.js';
import { decideExit, type CaseExpectation } from './exit-decision.js';
import { evaluateExpectations, matchingTargetKey, type Expectations } from './expectations.js';
import { signalExitCode } from '../core/exit-signal.js';

/** How the run was judged: against which expectations, and each case's verdict next to its expectation. */
export interface ExpectationsReport {
  /** The expectations file the run was compared with (absent: no file, every case unlisted). */
  readonly file?: string;
  /** The file's target key that matched this run's target, if any. */
  readonly targetKey?: string;
  /** Whether an unexpected pass exits 2 (--fail-on-unexpected-pass). */
  readonly failOnUnexpectedPass: boolean;
  /** One per case, in the order of `Summary.cases`. */
  readonly cases: readonly CaseExpectation[];
}

/** The outcome of a run: counts by verdict, every case, and the exit code they imply. */
export interface Summary {
  readonly run: RunInfo;
  readonly counts: Readonly<Record<Verdict, number>>;
  readonly total: number;
  readonly cases: readonly CaseResult[];
  /** Each case's expectation (absent in summaries built before expectations existed: judge as unlisted). */
  readonly expectations?: ExpectationsReport;
  readonly exitCode: number;
}

/** How summarize judges the verdicts: an expectations file and the flags of the exit decision. */
export interface JudgeOptions {
  readonly expectations?: Expectations;
  /** Where the expectations came from, for the reports. */
  readonly file?: string;
  /** Exit 2 on an unexpected pass. @defaultValue false */
  readonly failOnUnexpectedPass?: boolean;
}

/**
 * Exit code from the verdicts alone, without an expectations file (CONFORMANCE.md): 1 when any case
 * FAILed (the target is wrong), else 70 when the harness or environment errored, else 0.
 * The general rule, with expectations and flags, is decideExit in exit-decision.ts.
 */
export function decideExitCode(counts: Readonly<Record<Verdict, number>>): number {
  return decideExit([
    ...(counts.FAIL > 0 ? [{ status: 'unexpected-fail' as const }] : []),
    ...(counts.ERROR > 0 ? [{ status: 'unexpected-error' as const }] : []),
  ]);
}

/** Each case's expectation: the summary's own, or (for a summary without them) every case judged as unlisted. */
export function caseExpectations(summary: Summary): readonly CaseExpectation[] {
  return summary.expectations?.cases ?? evaluateExpectations(undefined, summary.run, summary.cases);
}

/**
 * Builds the summary in catalogue order. A selected case that recorded no result (mocha aborted,
 * a hook failed) becomes an ERROR entry, so that no selected case is silently missing. An
 * interrupted run (`run.interrupted`) exits 128 + the signal's number.
 */
export function summarize(
  run: RunInfo,
  selected: readonly CaseDefinition[],
  results: readonly CaseResult[],
  judge: JudgeOptions = {},
): Summary {
  const byId = new Map(results.map((r) => [r.id, r]));
  const cases = selected.map(
    (def): CaseResult =>
      byId.get(def.id) ?? {
        id: def.id,
        title: def.title,
        klass: def.klass,
        verdict: 'ERROR',
        message: 'no result was recorded for this case (the run was interrupted)',
        requirement: def.requirement,
        source: def.source,
        section: def.section,
        evidence: {},
        attempts: 0,
        durationMs: 0,
        startedAt: run.finishedAt,
      },
  );
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const c of cases) counts[c.verdict]++;
  const judged = evaluateExpectations(judge.expectations, run, cases);
  const targetKey = matchingTargetKey(judge.expectations, run);
  const failOnUnexpectedPass = judge.failOnUnexpectedPass ?? false;
  return {
    run,
    counts,
    total: cases.length,
    cases,
    expectations: {
      ...(judge.file === undefined ? {} : { file: judge.file }),
      ...(targetKey === undefined ? {} : { targetKey }),
      failOnUnexpectedPass,
      cases: judged,
    },
    // An interrupted run exits as the signal says (130, 143), whatever the cases that ran found.
    exitCode:
      run.interrupted === undefined
        ? decideExit(judged, { failOnUnexpectedPass })
        : signalExitCode(run.interrupted),
  };
}

/**
 * The test that stands for the preflight in the reports of a run that did not start (it is no case
 * of the catalogue: --only and expectations files do not name it).
 */
export const PREFLIGHT_TEST: CaseDefinition = Object.freeze({
  id: 'preflight',
  title: 'the target answers before any case runs',
  klass: 'MUST',
  requirement: 'Before the catalogue runs, the target answers an echo request.',
  source: 'echolot preflight',
  section: 'Preflight',
});

/**
 * The summary of a run that did not start because the target did not answer the preflight:
 * `run.notStarted` says why, one FAIL test "preflight" carries the diagnosis, every selected case
 * is NOT-RUN, and the exit code is `exitCode` (69, the CLI's for an unreachable target).
 */
export function notStartedSummary(
  run: RunInfo & { readonly notStarted: NonNullable<RunInfo['notStarted']> },
  selected: readonly CaseDefinition[],
  exitCode: number,
): Summary {
  const { diagnosis } = run.notStarted;
  const result = (def: CaseDefinition, verdict: 'FAIL' | 'NOT-RUN', message: string): CaseResult => ({
    id: def.id,
    title: def.title,
    klass: def.klass,
    verdict,
    message,
    requirement: def.requirement,
    source: def.source,
    section: def.section,
    evidence: verdict === 'FAIL' ? { diagnosis } : {},
    attempts: 0,
    durationMs: verdict === 'FAIL' ? run.durationMs : 0,
    startedAt: run.startedAt,
  });
  const results = [
    result(PREFLIGHT_TEST, 'FAIL', diagnosis),
    ...selected.map((def) => result(def, 'NOT-RUN', `not run: the target did not answer the preflight`)),
  ];
  return { ...summarize(run, [PREFLIGHT_TEST, ...selected], results), exitCode };
}
