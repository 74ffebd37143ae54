/** The verdict model of the conformance catalogue (CONFORMANCE.md, "Verdicts"). */

/** A graded verdict for one case. */
export type Verdict =
  | 'PASS'
  | 'NON-STRICT'
  | 'INFO'
  | 'UNSUPPORTED'
  | 'FLAKY'
  | 'FAIL'
  | 'ERROR'
  /** The case did not run: the target was down (the case that took it down FAILs), or the run was stopped. */
  | 'NOT-RUN';

/** All verdicts, in report order (worst last). */
export const VERDICTS: readonly Verdict[] = Object.freeze([
  'PASS',
  'FLAKY',
  'INFO',
  'NON-STRICT',
  'UNSUPPORTED',
  'NOT-RUN',
  'FAIL',
  'ERROR',
]);

/** The strength of a requirement: MUST violations fail, SHOULD violations are NON-STRICT, INFO only reports. */
export type CaseClass = 'MUST' | 'SHOULD' | 'INFO';

/** What a case body found, before grading by class and strictness. */
export type CaseStatus =
  /** The requirement holds. */
  | 'met'
  /** The requirement is violated (wrong bytes, wrong address, duplicate, no reply after retries). */
  | 'violated'
  /** No verdict on the requirement: the path lost what the target echoes (datagrams of one size, say). */
  | 'lossy'
  /** A finding the RFCs leave open. */
  | 'info'
  /** This client, platform or privilege cannot run the case. */
  | 'unsupported';

/** Grades a case body's status by the case's class; a met status reached only after a timeout retry is FLAKY. */
export function grade(
  klass: CaseClass,
  status: CaseStatus,
  options: { retried: boolean; strict: boolean },
): Verdict {
  switch (status) {
    case 'unsupported':
      return 'UNSUPPORTED';
    case 'info':
      return 'INFO';
    case 'lossy':
      return klass === 'INFO' ? 'INFO' : 'FLAKY';
    case 'met':
      return klass === 'INFO' ? 'INFO' : options.retried ? 'FLAKY' : 'PASS';
    case 'violated':
      if (klass === 'MUST') return 'FAIL';
      if (klass === 'SHOULD') return options.strict ? 'FAIL' : 'NON-STRICT';
      return 'INFO';
  }
}
