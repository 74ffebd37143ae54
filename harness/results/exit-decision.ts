import type { Verdict } from './verdict.js';

/** How one case's verdict compares with what was expected of it. */
export type ExpectationStatus =
  /** The verdict is one of the expected ones. */
  | 'expected'
  /** FAIL where it was not expected: a regression of the target (exit 1). */
  | 'unexpected-fail'
  /** ERROR where it was not expected: the harness or environment failed (exit 70). */
  | 'unexpected-error'
  /** Any other verdict where it was not expected, e.g. PASS where FAIL was expected: the expectations are stale (exit 2 only on request). */
  | 'unexpected-pass';

/** Where a case's expectation came from. */
export type ExpectationSource =
  /** An entry for this target in the expectations file. */
  | 'target'
  /** An entry in the file's `default` section (any target). */
  | 'default'
  /** The case is not listed: any verdict but FAIL and ERROR is expected. */
  | 'unlisted';

/** A case's verdict next to its expectation, as the summary and the reporters carry it. */
export interface CaseExpectation {
  readonly id: string;
  readonly verdict: Verdict;
  /** The verdicts that count as expected for this case, in this run's conditions. */
  readonly expected: readonly Verdict[];
  readonly status: ExpectationStatus;
  /** True unless status is 'expected'. */
  readonly unexpected: boolean;
  readonly from: ExpectationSource;
  /** The bug link of the entry that applied, if it has one. */
  readonly bug?: string;
}

/** The expectation of a case that no file lists: every verdict except FAIL and ERROR. */
export const UNLISTED_EXPECTED: readonly Verdict[] = Object.freeze([
  'PASS',
  'FLAKY',
  'INFO',
  'NON-STRICT',
  'UNSUPPORTED',
  'NOT-RUN',
]);

/** Flags of the exit decision that the command line sets. */
export interface ExitFlags {
  /** Exit 2 when a case passed that was expected to fail (stale expectations). @defaultValue false */
  readonly failOnUnexpectedPass?: boolean;
}

/** Compares a verdict with the expected set: expected, or which kind of unexpected. */
export function classify(verdict: Verdict, expected: readonly Verdict[]): ExpectationStatus {
  // A case that did not run says nothing for or against an expectation (the case that stopped the run does).
  if (expected.includes(verdict) || verdict === 'NOT-RUN') return 'expected';
  if (verdict === 'FAIL') return 'unexpected-fail';
  if (verdict === 'ERROR') return 'unexpected-error';
  return 'unexpected-pass';
}

/**
 * The exit code of a run (CONFORMANCE.md, "Exit codes") from each case's verdict and expectation:
 * 1 when a case FAILed unexpectedly (the target regressed), else 70 when a case ERRORed unexpectedly
 * (the harness or environment failed), else 2 when a case passed unexpectedly and the caller asked
 * for that (--fail-on-unexpected-pass), else 0. Without an expectations file every case is
 * 'unlisted', which gives the plain rule: 1 on any FAIL, else 70 on any ERROR, else 0.
 */
export function decideExit(cases: readonly Pick<CaseExpectation, 'status'>[], flags: ExitFlags = {}): number {
  const any = (status: ExpectationStatus): boolean => cases.some((c) => c.status === status);
  if (any('unexpected-fail')) return 1;
  if (any('unexpected-error')) return 70;
  if (flags.failOnUnexpectedPass === true && any('unexpected-pass')) return 2;
  return 0;
}
