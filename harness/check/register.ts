/**
 * The one generic spec: registers the selected cases of the catalogue with mocha, a suite per
 * section and a test per case. Each test runs its case through `execute` (which grades and records
 * it), attaches the evidence to the mochawesome report, and fails for FAIL and ERROR, skips for
 * UNSUPPORTED, so mocha's own report agrees with the verdicts; every verdict but PASS is also in
 * the test's title.
 */
import { assert } from 'chai';
import Mocha from 'mocha';
import addContext from 'mochawesome/addContext.js';
import type { CatalogueSection, ConformanceCase } from '../conformance/case.js';
import type { CaseResult } from '../results/case-result.js';

/** A case's graded result, and the error it threw when it did. */
export interface CaseRun {
  readonly result: CaseResult;
  readonly thrown?: unknown;
}

/** A test's title in mocha's reports: `ID [VERDICT] title` for every verdict but PASS. */
export const verdictTitle = (c: { readonly id: string; readonly title: string }, verdict: string): string =>
  verdict === 'PASS' ? `${c.id} ${c.title}` : `${c.id} [${verdict}] ${c.title}`;

/** Registers every selected case of `sections` under `root`; `execute` runs and records one case. */
export function registerCases(
  root: Mocha.Suite,
  sections: readonly CatalogueSection[],
  selected: ReadonlySet<string>,
  execute: (c: ConformanceCase, section: string) => Promise<CaseRun>,
): void {
  for (const section of sections) {
    const cases = section.cases.filter((c) => selected.has(c.id));
    if (cases.length === 0) continue;
    const suite = Mocha.Suite.create(root, section.title);
    for (const c of cases) {
      suite.addTest(
        new Mocha.Test(verdictTitle(c, 'PASS'), async function (this: Mocha.Context) {
          const { result, thrown } = await execute(c, section.title);
          addContext(this, { title: `${result.verdict}: ${result.message}`, value: result.evidence });
          // mochawesome knows passed, failed and pending only: a verdict that is not a plain PASS is
          // named in the title, so NON-STRICT and INFO are not read as passes nor UNSUPPORTED as pending.
          if (result.verdict !== 'PASS' && this.test) this.test.title = verdictTitle(c, result.verdict);
          if (thrown !== undefined) throw thrown;
          if (result.verdict === 'FAIL') assert.fail(`${c.id} FAIL: ${result.message}`);
          if (result.verdict === 'UNSUPPORTED' || result.verdict === 'NOT-RUN') this.skip();
        }),
      );
    }
  }
}
