import { expect } from 'chai';
import { CURRENT_SPEC_VERSION, validate } from 'ctrf';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import type { CaseResult } from '../../harness/results/case-result.js';
import { parseExpectations } from '../../harness/results/expectations.js';
import { summarize, type RunInfo } from '../../harness/results/summary.js';
import type { Verdict } from '../../harness/results/verdict.js';
import type { LoadResult } from '../../harness/load/types.js';
import type { LoadSuiteRun } from '../../harness/runner/load-suite-run.js';
import { renderSummaryJson } from '../../harness/reporters/summary-json.js';
import { renderLoadSuiteSummary } from '../../harness/reporters/load-suite.js';
import { CTRF_SPEC_VERSION } from '../../harness/reporters/ctrf.js';
import { renderLoadRunSummary } from '../../harness/reporters/load-run-tests.js';
import { loadReport } from '../../harness/reporters/load-json.js';
import { evaluateThresholds, parseThresholds } from '../../harness/load/thresholds.js';
import { sampleLoadResult } from '../helpers/load-sample.js';
import { sampleResult, sampleRun } from '../helpers/check-sample.js';

/** The schema's complaints about a document, one "path: message" each (empty when it is valid CTRF). */
const problemsOf = (doc: unknown): string[] => validate(doc).errors.map((e) => `${e.path}: ${e.message}`);

interface Test {
  name: string;
  testId?: string;
  status: string;
  rawStatus?: string;
  duration: number;
  suite: string[];
  flaky?: boolean;
  retries?: number;
  message: string;
  extra: Record<string, unknown>;
}
interface Doc {
  reportFormat: string;
  specVersion: string;
  runId: string;
  results: { summary: Record<string, number>; tests: Test[]; extra?: Record<string, unknown> };
}

const run: RunInfo = sampleRun({
  runId: '20260101T000000Z-4f2a9c',
  tool: { name: 'echolot', version: '1.2.3' },
  options: { strict: false, selected: [], seed: 42, timeoutMs: 1000, retries: 2 },
  platform: { os: 'linux', node: 'v20.20.2', privileged: false },
  preflight: { rttMs: 0.183 },
  startedAt: '2026-01-01T00:00:00.250Z',
  finishedAt: '2026-01-01T00:00:03.751Z',
  durationMs: 3500.6,
});

/** A result as the catalogue run grades it, durations fractional as performance.now() gives them. */
const result = (
  id: string,
  verdict: Verdict,
  message: string,
  evidence: CaseResult['evidence'],
): CaseResult =>
  sampleResult(id, verdict, message, evidence, { durationMs: 12.625, startedAt: '2026-01-01T00:00:00.300Z' });

const FAIL_EVIDENCE = {
  exchange: {
    sentLength: 1025,
    receivedLength: 1024,
    from: '127.0.0.1:9007',
    comparison: {
      sentSha256: 'a'.repeat(64),
      receivedSha256: 'b'.repeat(64),
      diff: { offset: 1024, sent: '0x7f', received: null },
    },
    hex: '65 63 68 6f 6c 6f 74 \\x1b',
  },
  rttMs: [0.21, 0.19],
};

/** 3.3 and 4.1 get no result: the run stopped before them (NOT-RUN is what catalogue-run reports). */
const RESULTS: readonly CaseResult[] = [
  result('1.1', 'PASS', 'echoed 12 bytes', { rttMs: 0.2 }),
  result('1.2', 'FAIL', 'truncated to 1024 bytes (sent 1025)', FAIL_EVIDENCE),
  result('2.1', 'FLAKY', 'answered on the second attempt', { attempts: 2 }),
  result('2.2', 'ERROR', 'internal error: socket closed', { error: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }),
  result('3.1', 'NON-STRICT', 'echoed, but from another port', { from: '127.0.0.1:9008' }),
  result('3.2', 'INFO', 'largest echoed: 65507 bytes', { largest: 65507 }),
  result('4.2', 'UNSUPPORTED', 'needs ::1, which this host lacks', { capability: 'ipv6' }),
  result('4.3', 'NOT-RUN', 'the target stopped answering at 1.2', {}),
];

function checkSummary(): Doc {
  const ids = new Set(RESULTS.map((r) => r.id));
  const expectations = parseExpectations(
    JSON.stringify({
      version: 1,
      targets: { '127.0.0.1:9007': { '1.2': { expected: 'FAIL', bug: 'https://bugs.example/12' } } },
    }),
    'expectations.json',
    new Set(CATALOGUE.map((c) => c.id)),
  );
  const summary = summarize(
    run,
    CATALOGUE.filter((c) => ids.has(c.id)),
    RESULTS,
    { expectations, file: 'expectations.json' },
  );
  return JSON.parse(renderSummaryJson(summary)) as Doc;
}

function loadSuiteSummary(extra: Partial<LoadSuiteRun> = {}): Doc {
  const suite: LoadSuiteRun = {
    runId: '20260101T000000Z-77aa01',
    target: { input: 'embedded reference server', address: '127.0.0.1', port: 40_000, embedded: true },
    gates: [
      {
        title: 'holds 2000 datagrams/s with loss under 1%',
        file: 'load/1-rate.ts',
        passed: true,
        thresholds: [{ threshold: 'loss<1%', kind: 'ratio', actual: 0.4, ok: true }],
        durationMs: 1503.75,
        result: sampleLoadResult('a1b2c3d4e5f60718'),
      },
      {
        title: 'answers within 1 ns at p50',
        file: 'load/2-latency.ts',
        passed: false,
        thresholds: [
          { threshold: 'p50<1ns', kind: 'latency', actual: 100.5, ok: false },
          { threshold: 'loss<5%', kind: 'ratio', actual: 1.2, ok: true },
        ],
        durationMs: 1201.5,
        result: sampleLoadResult('0f1e2d3c4b5a6978'),
      },
      {
        title: 'survives a burst',
        file: 'load/3-burst.ts',
        passed: false,
        error: 'the load run could not start: EADDRINUSE',
        thresholds: [{ threshold: 'loss<5%', kind: 'ratio', actual: null, ok: false }],
        durationMs: 3.2,
      },
    ],
    exitCode: 70,
    startedAt: '2026-01-01T00:00:00.100Z',
    durationMs: 2708.45,
    mochawesome: {},
    ...extra,
  };
  return JSON.parse(renderLoadSuiteSummary(suite)) as Doc;
}

/** A load run's summary.json: `thresholds` judged on the 10 000-sent run, optionally generator-bound or interrupted. */
function loadRunSummary(
  thresholds: readonly string[],
  change: { bottleneck?: boolean; interrupted?: string } = {},
): Doc {
  const base = sampleLoadResult('a1b2c3d4e5f60718');
  const result: LoadResult = {
    ...base,
    ...(change.interrupted === undefined ? {} : { interrupted: change.interrupted }),
    generator: change.bottleneck
      ? { ...base.generator, bottleneck: true, reasons: ['send lag p99 12 ms'] }
      : base.generator,
  };
  return JSON.parse(
    renderLoadRunSummary(loadReport(result, evaluateThresholds(result, parseThresholds(thresholds)))),
  ) as Doc;
}

describe('summary.json is valid CTRF', () => {
  it("follows the ctrf package's current spec version", () => {
    expect(CTRF_SPEC_VERSION).to.equal(CURRENT_SPEC_VERSION);
  });

  it("renders a check's summary that the CTRF schema accepts: FAIL with evidence, NOT-RUN, FLAKY, UNSUPPORTED, ERROR", () => {
    const doc = checkSummary();
    expect(problemsOf(doc)).to.deep.equal([]);
    expect(doc).to.include({ reportFormat: 'CTRF', specVersion: CURRENT_SPEC_VERSION, runId: run.runId });
    const byId = new Map(doc.results.tests.map((t) => [t.testId, t]));
    const status = (id: string): [string, string | undefined] => [
      byId.get(id)?.status ?? '',
      byId.get(id)?.rawStatus,
    ];
    expect(status('1.2')).to.deep.equal(['failed', 'FAIL']);
    expect(status('2.2')).to.deep.equal(['other', 'ERROR']);
    expect(status('4.2')).to.deep.equal(['skipped', 'UNSUPPORTED']);
    expect(status('4.3')).to.deep.equal(['skipped', 'NOT-RUN']);
    expect(byId.get('2.1')).to.include({ status: 'passed', flaky: true, retries: 1 });
    const fail = byId.get('1.2');
    expect(fail?.suite).to.deep.equal(['1 Basic echo']);
    expect(fail?.duration).to.equal(13);
    expect(fail?.extra).to.deep.include({
      id: '1.2',
      verdict: 'FAIL',
      expectation: 'expected',
      bug: 'https://bugs.example/12',
      evidence: FAIL_EVIDENCE,
    });
    expect(doc.results.summary).to.deep.include({
      tests: 8,
      passed: 4,
      failed: 1,
      skipped: 2,
      other: 1,
      flaky: 1,
      start: Date.parse(run.startedAt),
      duration: 3501,
    });
    expect(doc.results.extra).to.have.nested.property('run.runId', run.runId);
  });

  it("renders a load suite's summary that the CTRF schema accepts: a passed, a failed and an errored gate", () => {
    const doc = loadSuiteSummary();
    expect(problemsOf(doc)).to.deep.equal([]);
    expect(doc.results.tests.map((t) => [t.status, t.suite, t.duration])).to.deep.equal([
      ['passed', ['load/1-rate.ts'], 1504],
      ['failed', ['load/2-latency.ts'], 1202],
      ['other', ['load/3-burst.ts'], 3],
    ]);
    expect(doc.results.tests[1]?.message).to.match(/^FAIL p50<1ns .*; ok loss<5%/);
    expect(doc.results.tests[0]?.extra).to.include({ loadRunId: 'a1b2c3d4e5f60718', mode: 'rate' });
    expect(doc.results.summary).to.include({ tests: 3, passed: 1, failed: 1, other: 1, suites: 3 });
  });

  it('renders an interrupted suite that the CTRF schema accepts: the gates not run as skipped, saying why', () => {
    const notRun = {
      title: 'echoes at least 2000/s',
      file: 'load/4-flood.ts',
      passed: false,
      notRun: 'interrupted by SIGINT',
      thresholds: [],
      durationMs: 0.5,
    };
    const interrupted = loadSuiteSummary({ gates: [notRun], interrupted: 'SIGINT', exitCode: 130 });
    expect(problemsOf(interrupted)).to.deep.equal([]);
    expect(interrupted.results.tests.map((t) => [t.status, t.message])).to.deep.equal([
      ['skipped', 'not run: interrupted by SIGINT'],
    ]);
    expect(JSON.stringify(interrupted.results)).to.include('"interrupted":"SIGINT"');
  });

  it("renders a load run's summary that the CTRF schema accepts: a breached threshold with its value and unit, 'generator healthy'", () => {
    const doc = loadRunSummary(['p99<1ms', 'loss<0.1%']);
    expect(problemsOf(doc)).to.deep.equal([]);
    expect(doc.results.tests.map((t) => [t.name, t.status, t.rawStatus])).to.deep.equal([
      ['p99<1ms', 'passed', 'PASSED'],
      ['loss<0.1%', 'failed', 'FAILED'],
      ['generator healthy', 'passed', 'PASSED'],
    ]);
    // 120 of 10 000 sent lost: 1.2 %.
    expect(doc.results.tests[1]?.message).to.equal('breached loss<0.1%, actual 1.20%');
    expect(doc.results.tests[1]?.extra).to.include({ threshold: 'loss<0.1%', kind: 'ratio', ok: false });
    expect(doc.results.summary).to.include({ tests: 3, passed: 2, failed: 1, skipped: 0 });
    expect(doc.results.extra).to.include({ outcome: 'FAILED' }).and.not.have.property('interrupted');
  });

  it('renders an INCONCLUSIVE load run as a skipped test and an interrupted one as interrupted, both schema-valid', () => {
    const inconclusive = loadRunSummary(['loss<5%'], { bottleneck: true });
    expect(problemsOf(inconclusive)).to.deep.equal([]);
    const generator = inconclusive.results.tests[1];
    expect(generator).to.include({ name: 'generator healthy', status: 'skipped', rawStatus: 'INCONCLUSIVE' });
    expect(generator?.message).to.match(
      /^INCONCLUSIVE: the generator was the bottleneck \(send lag p99 12 ms\)/,
    );
    expect(inconclusive.results.summary).to.include({ tests: 2, passed: 1, failed: 0, skipped: 1 });
    expect(inconclusive.results.extra).to.include({ outcome: 'INCONCLUSIVE' });

    const none = loadRunSummary([], { bottleneck: true });
    expect(problemsOf(none)).to.deep.equal([]);
    expect(none.results.tests.map((t) => [t.name, t.status])).to.deep.equal([['load run', 'skipped']]);
    expect(loadRunSummary([]).results.tests.map((t) => [t.name, t.status])).to.deep.equal([
      ['load run', 'passed'],
    ]);

    const interrupted = loadRunSummary(['p99<1ms'], { interrupted: 'SIGINT' });
    expect(problemsOf(interrupted)).to.deep.equal([]);
    expect(interrupted.results.extra).to.include({ outcome: 'INTERRUPTED', interrupted: 'SIGINT' });
  });

  it('is checked by a schema that rejects what the renderers must not write', () => {
    const doc = checkSummary();
    // A suite as a plain string, a fractional duration, a key outside `extra`, an unknown status.
    const [first, second, third, fourth] = doc.results.tests;
    const broken = {
      ...doc,
      verdicts: {},
      results: {
        ...doc.results,
        tests: [
          { ...first, suite: '1' },
          { ...second, duration: 12.625 },
          { ...third, verdict: 'FLAKY' },
          { ...fourth, status: 'error' },
        ],
      },
    };
    expect(problemsOf(broken)).to.include.members([
      '/: must NOT have additional properties',
      '/results/tests/0/suite: must be array',
      '/results/tests/1/duration: must be integer',
      '/results/tests/2: must NOT have additional properties',
      '/results/tests/3/status: must be equal to one of the allowed values',
    ]);
    expect(problemsOf(loadSuiteSummary())).to.deep.equal([]);
    // A load run's summary broken the same ways is rejected too.
    const load = loadRunSummary(['p99<1ms']);
    const [threshold, generator] = load.results.tests;
    expect(
      problemsOf({
        ...load,
        results: {
          ...load.results,
          interrupted: 'SIGINT',
          tests: [
            { ...threshold, status: 'inconclusive' },
            { ...generator, duration: 0.5 },
          ],
        },
      }),
    ).to.include.members([
      '/results: must NOT have additional properties',
      '/results/tests/0/status: must be equal to one of the allowed values',
      '/results/tests/1/duration: must be integer',
    ]);
  });
});
