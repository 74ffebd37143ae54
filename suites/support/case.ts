import { assert } from 'chai';
import addContext from 'mochawesome/addContext.js';
import { getActiveRun, type ActiveRun } from '../../harness/runner/active-run.js';
import { caseById } from '../../harness/results/catalogue.js';
import type { CaseResult, Evidence } from '../../harness/results/case-result.js';
import { grade, type CaseStatus } from '../../harness/results/verdict.js';

/** What a case body found: a status to grade, one line, and the evidence. */
export interface CaseOutcome {
  readonly status: CaseStatus;
  readonly message: string;
  readonly evidence?: Evidence;
  /** Attempts of the deciding exchange; above 1 (timeouts retried) a met status grades as FLAKY. */
  readonly attempts?: number;
}

/** The requirement holds. */
export const met = (message: string, evidence?: Evidence, attempts = 1): CaseOutcome => ({
  status: 'met',
  message,
  attempts,
  ...(evidence ? { evidence } : {}),
});

/** The requirement is violated. */
export const violated = (message: string, evidence?: Evidence, attempts = 1): CaseOutcome => ({
  status: 'violated',
  message,
  attempts,
  ...(evidence ? { evidence } : {}),
});

/** A finding the RFCs leave open. */
export const info = (message: string, evidence?: Evidence): CaseOutcome => ({
  status: 'info',
  message,
  ...(evidence ? { evidence } : {}),
});

/** The case cannot run here; the message says why. */
export const unsupported = (message: string, evidence?: Evidence): CaseOutcome => ({
  status: 'unsupported',
  message,
  ...(evidence ? { evidence } : {}),
});

/**
 * Registers catalogue case `id` as a mocha test when the run selects it. The body measures and
 * returns an outcome; this grades it, records it in the collector, attaches the evidence to the
 * mochawesome report, and asserts on the verdict (FAIL and ERROR fail the test, UNSUPPORTED skips).
 */
export function conformanceCase(id: string, body: (run: ActiveRun) => Promise<CaseOutcome>): void {
  const def = caseById(id);
  const run = getActiveRun();
  if (!run.selected.has(id)) return;
  it(`${id} ${def.title}`, async function () {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    let outcome: CaseOutcome;
    let thrown: unknown;
    try {
      outcome = await body(run);
    } catch (err) {
      thrown = err;
      const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      outcome = { status: 'violated', message: `harness error: ${why}` };
    }
    const attempts = outcome.attempts ?? 1;
    const result: CaseResult = {
      id,
      title: def.title,
      klass: def.klass,
      verdict:
        thrown === undefined
          ? grade(def.klass, outcome.status, { retried: attempts > 1, strict: run.options.strict })
          : 'ERROR',
      message: outcome.message,
      requirement: def.requirement,
      source: def.source,
      evidence: outcome.evidence ?? {},
      attempts,
      durationMs: Date.now() - started,
      startedAt,
    };
    run.collector.record(result);
    addContext(this, { title: `${result.verdict}: ${result.message}`, value: result.evidence });
    if (thrown !== undefined) throw thrown;
    if (result.verdict === 'FAIL') assert.fail(`${id} FAIL: ${result.message}`);
    if (result.verdict === 'UNSUPPORTED') this.skip();
  });
}
