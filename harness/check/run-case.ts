/**
 * Runs one conformance case and grades it: the case's own outcome, combined with every breach of
 * the echo contract the run's ledger attributes to it (also those that show after it ended).
 */
import type { CaseContext } from '../conformance/context.js';
import { unsupported, type CaseOutcome, type ConformanceCase } from '../conformance/case.js';
import { floodRefusal } from '../conformance/flood.js';
import type { ResolvedCheckOptions } from '../conformance/options.js';
import type { Target } from '../target/acquire.js';
import type { Breach } from '../conformance/ledger.js';
import type { CaseResult } from '../results/case-result.js';
import { grade, type Verdict } from '../results/verdict.js';

/** What running a case left: its outcome (or the error it threw) and when. */
export interface CaseRecord {
  readonly case: ConformanceCase;
  readonly section: string;
  readonly outcome: CaseOutcome;
  /** The error the case threw (a harness fault: graded ERROR). */
  readonly thrown?: unknown;
  readonly startedAt: string;
  readonly durationMs: number;
  /** Set when the target stopped answering after one of this case's datagrams: the diagnosis. */
  readonly stoppedTarget?: string;
}

/**
 * The record of a case that may not run against this target, without running it (nothing is sent):
 * a case that floods (`disturbs: 'flood'`) against a target the run does not own is UNSUPPORTED,
 * saying why. Undefined when the case may run.
 */
export function refuseCase(
  c: ConformanceCase,
  section: string,
  target: Pick<Target, 'address' | 'embedded'>,
  options: Pick<ResolvedCheckOptions, 'ownTarget'>,
): CaseRecord | undefined {
  const why = c.disturbs === 'flood' ? floodRefusal(target, options) : undefined;
  if (why === undefined) return undefined;
  return {
    case: c,
    section,
    outcome: unsupported(why, { notRun: why }),
    startedAt: new Date().toISOString(),
    durationMs: 0,
  };
}

/** Runs `c` with `ctx`; a case that throws is recorded with the error, never rethrown here. */
export async function runCase(c: ConformanceCase, section: string, ctx: CaseContext): Promise<CaseRecord> {
  const started = Date.now();
  let outcome: CaseOutcome;
  let thrown: unknown;
  try {
    outcome = await c.run(ctx);
  } catch (err) {
    thrown = err;
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    outcome = { status: 'violated', message: `harness error: ${why}` };
  }
  return {
    case: c,
    section,
    outcome,
    ...(thrown === undefined ? {} : { thrown }),
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
  };
}

/** A breach as evidence: what, how strong, when relative to the case. */
function breachEvidence(b: Breach): Record<string, unknown> {
  return {
    clause: b.clause,
    severity: b.severity,
    message: b.message,
    afterCase: b.afterCase,
    ...b.evidence,
  };
}

/** The message of the strongest breaches: the first, and how many breaches there were. */
function breachMessage(list: readonly Breach[], total: number): string {
  const first = list[0];
  if (!first) return '';
  const more = total > 1 ? ` (${total} breaches of the echo contract in all)` : '';
  return `${first.afterCase ? 'after the case ended: ' : ''}${first.message}${more}`;
}

/**
 * Grades a case: its outcome by class and strictness, then the breaches of the echo contract the
 * ledger found in its exchanges. A MUST breach (reply from another port, on another socket, more
 * than once, unasked) makes it FAIL; a SHOULD breach (reply from another address, an answer to a
 * datagram that expects none) NON-STRICT (FAIL with --strict). The case's own finding keeps the
 * message when it is at least as strong.
 */
export function gradeCase(
  record: CaseRecord,
  found: { readonly list: readonly Breach[]; readonly total: number },
  strict: boolean,
  /** Set when this case's duplicates did not come again with fresh requests: what was tried. */
  pathDuplicates?: string,
): CaseResult {
  const breaches = found.list;
  const { case: c, outcome, thrown } = record;
  const attempts = outcome.attempts ?? 1;
  let verdict: Verdict =
    thrown === undefined ? grade(c.klass, outcome.status, { retried: attempts > 1, strict }) : 'ERROR';
  let message = outcome.message;
  if (record.stoppedTarget !== undefined) {
    verdict = 'FAIL';
    message = record.stoppedTarget;
  } else if (thrown === undefined) {
    // A duplicate that did not come again with fresh requests is the path's, most likely: not a MUST breach.
    const oneOff = (b: Breach): boolean => pathDuplicates !== undefined && b.clause === 'once';
    const must = breaches.filter((b) => b.severity === 'MUST' && !oneOff(b));
    const should = breaches.filter((b) => b.severity === 'SHOULD');
    const flaky = breaches.filter(oneOff);
    if (must.length > 0 && verdict !== 'FAIL') {
      verdict = 'FAIL';
      message = breachMessage(must, found.total);
    } else if (should.length > 0 && verdict !== 'FAIL' && verdict !== 'NON-STRICT') {
      verdict = strict ? 'FAIL' : 'NON-STRICT';
      message = breachMessage(should, found.total);
    } else if (flaky.length > 0 && verdict === 'PASS') {
      verdict = 'FLAKY';
      message = `possible path duplication: ${breachMessage(flaky, flaky.length)}; ${pathDuplicates ?? ''}`;
    }
  }
  const own = {
    ...(outcome.evidence ?? {}),
    ...(record.stoppedTarget !== undefined
      ? { stoppedTarget: record.stoppedTarget, outcomeBefore: outcome.message }
      : {}),
  };
  const evidence =
    breaches.length === 0
      ? own
      : {
          ...(outcome.evidence ?? {}),
          breaches: breaches.slice(0, 20).map(breachEvidence),
          breachCount: breaches.length,
        };
  return {
    id: c.id,
    title: c.title,
    klass: c.klass,
    verdict,
    message,
    requirement: c.requirement,
    source: c.source,
    section: record.section,
    evidence,
    attempts,
    durationMs: record.durationMs,
    startedAt: record.startedAt,
  };
}

/** The result of a case that did not run: the target was down, or the run was stopped. */
export function notRun(c: ConformanceCase, section: string, why: string): CaseResult {
  return {
    id: c.id,
    title: c.title,
    klass: c.klass,
    verdict: 'NOT-RUN',
    message: `not run: ${why}`,
    requirement: c.requirement,
    source: c.source,
    section,
    evidence: { notRun: why },
    attempts: 0,
    durationMs: 0,
    startedAt: new Date().toISOString(),
  };
}
