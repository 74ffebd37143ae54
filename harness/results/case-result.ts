import type { CaseClass, Verdict } from './verdict.js';

/** Evidence of one case: plain JSON data (exchanges, comparisons, addresses, timings, seeds). */
export type Evidence = Readonly<Record<string, unknown>>;

/** The graded result of one case in one run. */
export interface CaseResult {
  readonly id: string;
  readonly title: string;
  readonly klass: CaseClass;
  readonly verdict: Verdict;
  /** One line saying what was found, e.g. "truncated to 1024 bytes (sent 1025)". */
  readonly message: string;
  readonly requirement: string;
  readonly source: string;
  /** The catalogue section title, e.g. "1 Basic echo". */
  readonly section: string;
  readonly evidence: Evidence;
  /** Attempts of the exchange that decided the verdict (more than 1 only after timeouts). */
  readonly attempts: number;
  readonly durationMs: number;
  readonly startedAt: string;
}
