import { caseExpectations, type Summary } from '../results/summary.js';
import type { Verdict } from '../results/verdict.js';

/** CTRF test status for each verdict; the verdict itself travels in `extra`. */
const CTRF_STATUS: Readonly<Record<Verdict, 'passed' | 'failed' | 'skipped' | 'other'>> = {
  PASS: 'passed',
  FLAKY: 'passed',
  INFO: 'passed',
  'NON-STRICT': 'passed',
  UNSUPPORTED: 'skipped',
  FAIL: 'failed',
  ERROR: 'other',
};

/** The summary as CTRF-compatible JSON (results.tool/summary/tests) with echolot's verdicts and evidence. */
export function renderSummaryJson(summary: Summary): string {
  const start = Date.parse(summary.run.startedAt);
  const stop = Date.parse(summary.run.finishedAt);
  const judged = caseExpectations(summary);
  const byId = new Map(judged.map((e) => [e.id, e]));
  const unexpected = (status: string): string[] => judged.filter((e) => e.status === status).map((e) => e.id);
  const count = (status: string): number =>
    summary.cases.filter((c) => CTRF_STATUS[c.verdict] === status).length;
  const doc = {
    reportFormat: 'CTRF',
    specVersion: '0.0.0',
    generatedBy: `echolot ${summary.run.tool.version}`,
    results: {
      tool: { name: 'echolot', version: summary.run.tool.version },
      summary: {
        tests: summary.total,
        passed: count('passed'),
        failed: count('failed'),
        skipped: count('skipped'),
        pending: 0,
        other: count('other'),
        start,
        stop,
      },
      tests: summary.cases.map((c) => {
        const e = byId.get(c.id);
        return {
          name: `${c.id} ${c.title}`,
          status: CTRF_STATUS[c.verdict],
          duration: c.durationMs,
          message: c.message,
          suite: c.id.split('.')[0],
          ...(c.verdict === 'FLAKY' ? { flaky: true, retries: c.attempts - 1 } : {}),
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
      }),
      environment: {
        appName: 'echolot',
        appVersion: summary.run.tool.version,
        osPlatform: summary.run.platform.os,
        extra: {
          node: summary.run.platform.node,
          privileged: summary.run.platform.privileged,
          ioPath: summary.run.ioPath,
          io: summary.run.ioPath.startsWith('native') ? 'native' : 'dgram',
        },
      },
      extra: {
        run: summary.run,
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
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
