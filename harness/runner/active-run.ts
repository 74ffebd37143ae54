import type { Collector } from '../results/collector.js';
import type { ResolvedCheckOptions } from '../spec/check-options.js';
import type { ResolvedTarget } from '../spec/target.js';
import type { Capabilities } from './capabilities.js';

/** Everything a spec file needs to know about the run it is part of. */
export interface ActiveRun {
  readonly runId: string;
  readonly target: ResolvedTarget;
  /** True when the target is the reference server started in-process. */
  readonly embedded: boolean;
  readonly options: ResolvedCheckOptions;
  /** IDs of the selected cases; specs register only these. */
  readonly selected: ReadonlySet<string>;
  readonly collector: Collector;
  readonly capabilities: Capabilities;
}

let current: ActiveRun | undefined;

/** Makes `run` the run that spec files see while mocha loads and runs them. */
export function setActiveRun(run: ActiveRun): void {
  if (current) throw new Error(`a run (${current.runId}) is already active: runs do not nest`);
  current = run;
}

/** Ends the active run. */
export function clearActiveRun(): void {
  current = undefined;
}

/** The active run; spec files loaded outside `runCheck()` have none and say how to run them. */
export function getActiveRun(): ActiveRun {
  if (!current) {
    throw new Error(
      'no active echolot run: run the suites with `echolot check` (or runCheck()), not with plain mocha',
    );
  }
  return current;
}
