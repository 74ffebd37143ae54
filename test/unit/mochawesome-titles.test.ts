import { expect } from 'chai';
import { registerCases } from '../../harness/check/register.js';
import type { ConformanceCase } from '../../harness/conformance/case.js';
import type { CaseResult } from '../../harness/results/case-result.js';
import type { Verdict } from '../../harness/results/verdict.js';
import { runMocha } from '../../harness/runner/mocha-run.js';

const VERDICTS: Readonly<Record<string, Verdict>> = {
  '1.1': 'PASS',
  '1.2': 'NON-STRICT',
  '1.3': 'INFO',
  '1.4': 'UNSUPPORTED',
  '1.5': 'FAIL',
};

const cases = Object.keys(VERDICTS).map((id): ConformanceCase => ({
  id,
  title: `case ${id}`,
  klass: 'SHOULD',
  requirement: 'r',
  source: 's',
  provenBy: [],
  run: () => Promise.reject(new Error('not run in this test')),
}));

interface MochawesomeTest {
  readonly title: string;
  readonly pass: boolean;
  readonly fail: boolean;
  readonly pending: boolean;
}

describe('the mochawesome document of a check', () => {
  it('names every verdict but PASS in the test title, so NON-STRICT, INFO and UNSUPPORTED show as what they are', async () => {
    const run = await runMocha({
      timeoutMs: 5000,
      register: (root) =>
        registerCases(root, [{ title: '1 basic', cases }], new Set(Object.keys(VERDICTS)), (c, section) => {
          const result: CaseResult = {
            id: c.id,
            title: c.title,
            klass: c.klass,
            requirement: c.requirement,
            source: c.source,
            section,
            verdict: VERDICTS[c.id] ?? 'ERROR',
            message: 'm',
            evidence: {},
            attempts: 1,
            durationMs: 1,
            startedAt: '2026-01-01T00:00:00.000Z',
          };
          return Promise.resolve({ result });
        }),
    });
    const doc = run.report as { results: { suites: { tests: MochawesomeTest[] }[] }[] };
    const tests = doc.results[0]?.suites[0]?.tests ?? [];
    expect(
      tests.map((t) => [t.title, t.pass ? 'pass' : t.fail ? 'fail' : t.pending ? 'pending' : '?']),
    ).to.deep.equal([
      ['1.1 case 1.1', 'pass'],
      ['1.2 [NON-STRICT] case 1.2', 'pass'],
      ['1.3 [INFO] case 1.3', 'pass'],
      ['1.4 [UNSUPPORTED] case 1.4', 'pending'],
      ['1.5 [FAIL] case 1.5', 'fail'],
    ]);
  });
});
