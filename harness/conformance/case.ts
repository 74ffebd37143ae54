/**
 * The conformance case model: a case is one object holding its catalogue entry, the faulty fixture
 * servers that prove it, and `run(ctx)`, which measures the target through the context it is
 * given and returns an outcome to grade. The catalogue (suites/conformance/) is a list of them.
 */
import type { CaseDefinition } from '../results/case-definition.js';
import type { Evidence } from '../results/case-result.js';
import type { CaseStatus } from '../results/verdict.js';
import type { CaseContext } from './context.js';
import type { WireRequest } from './ledger.js';

/** What a case found: a status to grade, one line, and the evidence. */
export interface CaseOutcome {
  readonly status: CaseStatus;
  readonly message: string;
  readonly evidence?: Evidence;
  /** Attempts of the deciding exchange; above 1 (timeouts retried) a met status grades as FLAKY. */
  readonly attempts?: number;
}

/** One case of the catalogue. */
export interface ConformanceCase extends Omit<CaseDefinition, 'section'> {
  /**
   * Names of the faulty fixture servers (test/fixtures/servers/) that prove this case: each draws
   * this case's FAIL, NON-STRICT or finding, and the self-tests check that it does.
   */
  readonly provenBy: readonly string[];
  /**
   * What the case does to the target beyond ordinary exchanges: 'silence' (datagrams it must not
   * answer, such as from source port 7) or 'flood'. The run checks the target is still alive after
   * such a case, and names the case when it is not. A 'flood' case runs only against a target the
   * run owns (harness/conformance/flood.ts `floodRefusal`): elsewhere it is UNSUPPORTED, unrun,
   * unless the user gives `--i-own-the-target`. Every case that floods must say so here.
   */
  readonly disturbs?: 'silence' | 'flood';
  /** Measures the target and says what it found; a target's misbehaviour is an outcome, never a throw. */
  run(ctx: CaseContext): Promise<CaseOutcome>;
  /**
   * For a case about the whole run: judges every request of the run once the run has ended (after
   * the linger), and may amend the case's outcome. Undefined keeps the outcome of `run`.
   */
  atRunEnd?(run: RunEnd, outcome: CaseOutcome): CaseOutcome | undefined;
}

/** The whole run, as a case that judges it at the end sees it. */
export interface RunEnd {
  /** Every request of the run to the target (the cases' own, not the harness's checks). */
  readonly requests: readonly WireRequest[];
  /** True when a repetition showed the target's duplicates are its own, not the path's. */
  readonly serverDuplicates: boolean;
}

/** A catalogue section: its title ("1 Basic echo") and its cases in order. */
export interface CatalogueSection {
  readonly title: string;
  readonly cases: readonly ConformanceCase[];
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

/** No verdict on the requirement: the path lost what the target echoes (graded FLAKY; INFO for an INFO case). */
export const lossy = (message: string, evidence?: Evidence): CaseOutcome => ({
  status: 'lossy',
  message,
  ...(evidence ? { evidence } : {}),
});
