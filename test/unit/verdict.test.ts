import { expect } from 'chai';
import { grade } from '../../harness/results/verdict.js';
import { decideExitCode, summarize, type RunInfo } from '../../harness/results/summary.js';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import type { CaseResult } from '../../harness/results/case-result.js';
import { sampleResult, sampleRun } from '../helpers/check-sample.js';

const run: RunInfo = sampleRun();

const result = (id: string, verdict: CaseResult['verdict']): CaseResult => sampleResult(id, verdict, '');

describe('grading', () => {
  it('maps status and class to the verdict table of the catalogue', () => {
    const plain = { retried: false, strict: false };
    expect(grade('MUST', 'met', plain)).to.equal('PASS');
    expect(grade('MUST', 'met', { retried: true, strict: false })).to.equal('FLAKY');
    expect(grade('MUST', 'violated', plain)).to.equal('FAIL');
    expect(grade('SHOULD', 'violated', plain)).to.equal('NON-STRICT');
    expect(grade('SHOULD', 'violated', { retried: false, strict: true })).to.equal('FAIL');
    expect(grade('INFO', 'met', plain)).to.equal('INFO');
    expect(grade('INFO', 'violated', plain)).to.equal('INFO');
    expect(grade('MUST', 'unsupported', plain)).to.equal('UNSUPPORTED');
    expect(grade('SHOULD', 'info', plain)).to.equal('INFO');
  });
});

describe('summary and exit code', () => {
  it('exits 1 on any FAIL, else 70 on any ERROR, else 0', () => {
    const zero = {
      PASS: 0,
      FLAKY: 0,
      INFO: 0,
      'NON-STRICT': 0,
      UNSUPPORTED: 0,
      'NOT-RUN': 0,
      FAIL: 0,
      ERROR: 0,
    };
    expect(
      decideExitCode({ ...zero, PASS: 3, FLAKY: 1, 'NON-STRICT': 1, UNSUPPORTED: 1, 'NOT-RUN': 0, INFO: 1 }),
    ).to.equal(0);
    expect(decideExitCode({ ...zero, FAIL: 1, ERROR: 1 })).to.equal(1);
    expect(decideExitCode({ ...zero, ERROR: 1 })).to.equal(70);
  });

  it('orders cases by the catalogue and turns a selected case without a result into ERROR', () => {
    const selected = CATALOGUE.filter((c) => ['1.1', '1.2', '3.1'].includes(c.id));
    const s = summarize(run, selected, [result('3.1', 'FAIL'), result('1.1', 'PASS')]);
    expect(s.cases.map((c) => [c.id, c.verdict])).to.deep.equal([
      ['1.1', 'PASS'],
      ['1.2', 'ERROR'],
      ['3.1', 'FAIL'],
    ]);
    expect(s.counts).to.include({ PASS: 1, ERROR: 1, FAIL: 1 });
    expect(s.exitCode).to.equal(1);
  });

  it('exits 128 + the signal number when the run was interrupted, whatever the cases found', () => {
    const selected = CATALOGUE.filter((c) => ['1.1', '3.1'].includes(c.id));
    const results = [result('1.1', 'PASS'), result('3.1', 'FAIL')];
    expect(summarize({ ...run, interrupted: 'SIGINT' }, selected, results).exitCode).to.equal(130);
    expect(summarize({ ...run, interrupted: 'SIGTERM' }, selected, results).exitCode).to.equal(143);
    expect(summarize(run, selected, results).exitCode).to.equal(1);
  });
});
