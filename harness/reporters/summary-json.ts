import { caseExpectations, type Summary } from '../results/summary.js';
import type { CaseResult } from '../results/case-result.js';
import type { CaseExpectation } from '../results/exit-decision.js';
import type { Verdict } from '../results/verdict.js';
import { ctrfDocument, ctrfMs, renderCtrf, type CtrfStatus, type CtrfTest } from './ctrf.js';

/** CTRF test status for each verdict; the verdict itself is the test's `rawStatus` and `extra.verdict`. */
const CTRF_STATUS: Readonly<Record<Verdict, CtrfStatus>> = {
  PASS: 'passed',
  FLAKY: 'passed',
  INFO: 'passed',
  'NON-STRICT': 'passed',
  UNSUPPORTED: 'skipped',
  'NOT-RUN': 'skipped',
  FAIL: 'failed',
  ERROR: 'other',
};

/** One case as a CTRF test: suite = its catalogue section, everything of echolot's own in `extra`. */
function caseTest(c: CaseResult, e: CaseExpectation | undefined): CtrfTest {
  return {
    name: `${c.id} ${c.title}`,
    testId: c.id,
    status: CTRF_STATUS[c.verdict],
    rawStatus: c.verdict,
    duration: ctrfMs(c.durationMs),
    message: c.message,
    suite: [c.section],
    ...(c.verdict === 'FLAKY' ? { flaky: true, retries: Math.max(0, c.attempts - 1) } : {}),
    extra: {
      id: c.id,
      verdict: c.verdict,
      expected: e?.expected ?? [],
      unexpected: e?.unexpected ?? false,
      expectation: e?.status ?? 'expected',
      expectationFrom: e?.from ?? 'unlisted',
      ...(e?.bug ? { bug: e.bug } : {}),
      class: c.klass,
      requirement: c.requirement,
      source: c.source,
      attempts: c.attempts,
      startedAt: c.startedAt,
      evidence: c.evidence,
    },
  };
}

/** The summary as a CTRF document (summary.json) with echolot's verdicts and evidence in `extra`. */
export function renderSummaryJson(summary: Summary): string {
  const judged = caseExpectations(summary);
  const byId = new Map(judged.map((e) => [e.id, e]));
  const unexpected = (status: string): string[] => judged.filter((e) => e.status === status).map((e) => e.id);
  const { run } = summary;
  const doc = ctrfDocument(
    {
      runId: run.runId,
      version: run.tool.version,
      startedAt: run.startedAt,
      durationMs: run.durationMs,
      environment: {
        appName: 'echolot',
        appVersion: run.tool.version,
        osPlatform: run.platform.os,
        extra: {
          node: run.platform.node,
          privileged: run.platform.privileged,
          ioPath: run.ioPath,
          io: run.ioPath.startsWith('native') ? 'native' : 'dgram',
        },
      },
      extra: {
        run,
        counts: summary.counts,
        expectations: {
          file: summary.expectations?.file ?? null,
          targetKey: summary.expectations?.targetKey ?? null,
          failOnUnexpectedPass: summary.expectations?.failOnUnexpectedPass ?? false,
          unexpectedFail: unexpected('unexpected-fail'),
          unexpectedError: unexpected('unexpected-error'),
          unexpectedPass: unexpected('unexpected-pass'),
        },
        exitCode: summary.exitCode,
      },
    },
    summary.cases.map((c) => caseTest(c, byId.get(c.id))),
  );
  return renderCtrf(doc);
}
