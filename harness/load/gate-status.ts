/**
 * How a load gate of `--suite` came out, in one place for every report of the suite (console,
 * summary.json, junit.xml, index.html). Kept apart from suite.ts so that reporters need not load mocha.
 */
import type { GateRecord } from './suite.js';

/** passed / failed (a threshold breached) / error (its run could not run) / not-run (a signal stopped the suite first). */
export type GateStatus = 'passed' | 'failed' | 'error' | 'not-run';

export function gateStatus(g: GateRecord): GateStatus {
  if (g.notRun !== undefined) return 'not-run';
  if (g.error !== undefined) return 'error';
  return g.passed ? 'passed' : 'failed';
}

/** Why a gate was not judged on its thresholds ("not run: ..." or its run's error); undefined when it was. */
export function gateProblem(g: GateRecord): string | undefined {
  return g.notRun !== undefined ? `not run: ${g.notRun}` : g.error;
}
