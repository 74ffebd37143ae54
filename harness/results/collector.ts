import type { CaseResult } from './case-result.js';

/** Gathers case results as the specs produce them; the summary is computed from here, not from mocha. */
export class Collector {
  private readonly byId = new Map<string, CaseResult>();
  private readonly listeners: ((r: CaseResult) => void)[] = [];

  /** Records a case result (a second result for the same ID replaces the first) and notifies listeners. */
  record(result: CaseResult): void {
    this.byId.set(result.id, result);
    for (const l of this.listeners) l(result);
  }

  /** Calls `listener` for every result recorded from now on. */
  onResult(listener: (r: CaseResult) => void): void {
    this.listeners.push(listener);
  }

  /** The results recorded so far, in recording order. */
  results(): CaseResult[] {
    return [...this.byId.values()];
  }
}
