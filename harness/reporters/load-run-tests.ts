/**
 * A load run (or a merged distributed run) as tests, for CI: junit.xml and summary.json (CTRF). One
 * test per threshold, named by its text, plus "generator healthy"; with no thresholds one test
 * "load run". A run whose generator was the bottleneck is INCONCLUSIVE: that test is skipped (JUnit
 * <skipped>, CTRF "skipped" with rawStatus INCONCLUSIVE), so CI shows it without failing on it, as
 * the exit code does not. An interrupted run is marked as the check marks it: the property
 * `interrupted` in junit.xml, `interrupted` in summary.json's extra. Pure.
 */
import { ECHOLOT_VERSION } from '../version.js';
import { ctrfDocument, ctrfMs, renderCtrf, type CtrfStatus, type CtrfTest } from './ctrf.js';
import { renderJunitDocument, type JunitCase, type JunitProperty } from './junit.js';
import type { LoadReportJson } from './load-json.js';
import {
  formatThresholdActual,
  loadOutcome,
  loadOutcomeReason,
  renderGeneratorHealth,
} from './load-console.js';

/** The status of one test of a load run: INCONCLUSIVE when the generator was the bottleneck. */
type LoadTestStatus = 'PASSED' | 'FAILED' | 'INCONCLUSIVE';

interface LoadTest {
  readonly name: string;
  readonly status: LoadTestStatus;
  readonly message: string;
  readonly durationMs: number;
  readonly extra: Readonly<Record<string, unknown>>;
}

const PLAIN = { color: false } as const;

/** The tests of a load run, in the order both files list them. */
export function loadRunTests(load: LoadReportJson): LoadTest[] {
  const bottleneck = load.generator.bottleneck;
  const inconclusive = bottleneck ? `INCONCLUSIVE: ${renderGeneratorHealth(load, PLAIN)}` : undefined;
  if (load.thresholds.length === 0) {
    return [
      {
        name: 'load run',
        status: bottleneck ? 'INCONCLUSIVE' : 'PASSED',
        message: inconclusive ?? loadOutcomeReason([], false),
        durationMs: load.durationMs,
        extra: { generator: load.generator },
      },
    ];
  }
  return [
    ...load.thresholds.map((t): LoadTest => {
      const actual = formatThresholdActual(t.kind, t.actual);
      return {
        name: t.threshold,
        status: t.ok ? 'PASSED' : 'FAILED',
        message: t.ok ? `holds, actual ${actual}` : `breached ${t.threshold}, actual ${actual}`,
        durationMs: 0,
        extra: { ...t },
      };
    }),
    {
      name: 'generator healthy',
      status: bottleneck ? 'INCONCLUSIVE' : 'PASSED',
      message: inconclusive ?? renderGeneratorHealth(load, PLAIN),
      durationMs: 0,
      extra: { generator: load.generator },
    },
  ];
}

const outcomeOf = (load: LoadReportJson): string =>
  loadOutcome({
    passed: load.passed,
    generator: load.generator,
    ...(load.interrupted === undefined ? {} : { interrupted: load.interrupted }),
  });

const targetOf = (load: LoadReportJson): string =>
  load.target.embedded ? 'the embedded reference server' : load.target.input;

/** junit.xml of a load run: one testsuite "load", a <failure> per breached threshold, <skipped> when INCONCLUSIVE. */
export function renderLoadRunJunit(load: LoadReportJson): string {
  const properties: JunitProperty[] = [
    ['runId', load.runId],
    ['target', targetOf(load)],
    ['address', `${load.target.address}:${load.target.port}`],
    ['mode', load.mode],
    ['outcome', outcomeOf(load)],
    ...(load.interrupted === undefined ? [] : ([['interrupted', load.interrupted]] as const)),
  ];
  const cases = loadRunTests(load).map((t): JunitCase => ({
    name: t.name,
    classname: 'echolot.load',
    durationMs: t.durationMs,
    ...(t.status === 'FAILED'
      ? { outcome: { tag: 'failure', message: t.message, type: 'FAIL', detail: t.message } }
      : t.status === 'INCONCLUSIVE'
        ? { outcome: { tag: 'skipped', message: t.message } }
        : { systemOut: t.message }),
  }));
  return renderJunitDocument({
    name: `echolot load ${targetOf(load)}`,
    durationMs: load.durationMs,
    startedAt: load.startedAt,
    suites: [
      {
        name: 'load',
        package: 'echolot.load',
        durationMs: load.durationMs,
        startedAt: load.startedAt,
        hostname: 'localhost',
        properties,
        cases,
      },
    ],
  });
}

const CTRF_STATUS: Readonly<Record<LoadTestStatus, CtrfStatus>> = {
  PASSED: 'passed',
  FAILED: 'failed',
  INCONCLUSIVE: 'skipped',
};

/** summary.json of a load run: a CTRF document, the run's figures in `extra`. */
export function renderLoadRunSummary(load: LoadReportJson): string {
  const tests = loadRunTests(load).map((t): CtrfTest => ({
    name: t.name,
    status: CTRF_STATUS[t.status],
    rawStatus: t.status,
    duration: ctrfMs(t.durationMs),
    message: t.message,
    suite: ['load'],
    extra: t.extra,
  }));
  const doc = ctrfDocument(
    {
      runId: load.runId,
      version: ECHOLOT_VERSION,
      startedAt: load.startedAt,
      durationMs: load.durationMs,
      environment: {
        appName: 'echolot load',
        appVersion: ECHOLOT_VERSION,
        extra: { target: load.target, io: load.io, ioPath: load.ioPath },
      },
      extra: {
        outcome: outcomeOf(load),
        ...(load.interrupted === undefined ? {} : { interrupted: load.interrupted }),
        mode: load.mode,
        options: load.options,
        counters: load.counters,
        rates: load.rates,
        response: load.response,
        generator: load.generator,
        lossAttribution: load.lossAttribution,
      },
    },
    tests,
  );
  return renderCtrf(doc);
}
