import type { CaseDefinition } from './catalogue.js';
import type { CaseResult } from './case-result.js';
import { VERDICTS, type Verdict } from './verdict.js';
import type { Family } from '../protocol/constants.js';
import type { Capabilities } from '../runner/capabilities.js';
import { decideExit, type CaseExpectation } from './exit-decision.js';
import { evaluateExpectations, matchingTargetKey, type Expectations } from './expectations.js';

/** Who ran what against what: the header of every report. */
export interface RunInfo {
  readonly runId: string;
  readonly tool: { readonly name: 'echolot'; readonly version: string };
  readonly target: {
    /** As the user gave it, or "embedded reference server". */
    readonly input: string;
    readonly host: string;
    readonly address: string;
    readonly port: number;
    readonly family: Family;
    readonly embedded: boolean;
  };
  readonly options: {
    readonly strict: boolean;
    readonly selected: readonly string[];
    readonly seed?: number;
    readonly timeoutMs: number;
    readonly retries: number;
  };
  readonly platform: { readonly os: string; readonly node: string; readonly privileged: boolean };
  /** What the capability probe found before the cases (privilege, raw sockets, IPv6, sizes, aliases). */
  readonly capabilities?: Capabilities;
  /** Which datagram I/O path the harness used. */
  readonly ioPath: string;
  readonly preflight: { readonly rttMs: number; readonly note?: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
}

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
 * a hook failed) becomes an ERROR entry, so that no selected case is silently missing.
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
    exitCode: decideExit(judged, { failOnUnexpectedPass }),
  };
}
