/** Renderers of a load-gate suite run: summary.json (CTRF, one test per gate) and junit.xml. Pure. */
import type { GateRecord } from '../load/suite.js';
import type { LoadSuiteRun } from '../runner/load-suite-run.js';
import { ECHOLOT_VERSION } from '../version.js';
import { ctrfDocument, ctrfMs, renderCtrf, type CtrfTest } from './ctrf.js';
import { renderJunitDocument } from './junit.js';
import { formatThresholdActual } from './load-console.js';
import { gateProblem, gateStatus, type GateStatus } from '../load/gate-status.js';

/** A gate's CTRF status. */
const CTRF_STATUS = { passed: 'passed', failed: 'failed', error: 'other', 'not-run': 'skipped' } as const;

const statusOf = (g: GateRecord): (typeof CTRF_STATUS)[GateStatus] => CTRF_STATUS[gateStatus(g)];

const messageOf = (g: GateRecord): string =>
  gateProblem(g) ??
  (g.thresholds.length === 0
    ? 'no thresholds'
    : g.thresholds
        .map(
          (t) => `${t.ok ? 'ok' : 'FAIL'} ${t.threshold} (actual ${formatThresholdActual(t.kind, t.actual)})`,
        )
        .join('; '));

/** One gate as a CTRF test: suite = its spec file, the thresholds and load figures in `extra`. */
const gateTest = (g: GateRecord): CtrfTest => ({
  name: g.title,
  status: statusOf(g),
  duration: ctrfMs(g.durationMs),
  message: messageOf(g),
  suite: [g.file],
  extra: {
    thresholds: g.thresholds,
    ...(g.result
      ? {
          loadRunId: g.result.runId,
          mode: g.result.mode,
          counters: g.result.counters,
          rates: g.result.rates,
          response: g.result.response,
          generator: g.result.generator,
        }
      : {}),
  },
});

/** summary.json: a CTRF document with one test per gate. */
export function renderLoadSuiteSummary(run: LoadSuiteRun): string {
  const doc = ctrfDocument(
    {
      runId: run.runId,
      version: ECHOLOT_VERSION,
      startedAt: run.startedAt,
      durationMs: run.durationMs,
      environment: {
        appName: 'echolot load --suite',
        extra: {
          runId: run.runId,
          target: run.target,
          exitCode: run.exitCode,
          ...(run.notStarted === undefined ? {} : { notStarted: run.notStarted }),
          ...(run.interrupted === undefined ? {} : { interrupted: run.interrupted }),
        },
      },
    },
    run.gates.map(gateTest),
  );
  return renderCtrf(doc);
}

/** junit.xml: one testsuite, one testcase per gate. */
export function renderLoadSuiteJunit(run: LoadSuiteRun): string {
  return renderJunitDocument({
    name: 'echolot load --suite',
    durationMs: run.durationMs,
    startedAt: run.startedAt,
    suites: [
      {
        name: 'load',
        durationMs: run.durationMs,
        startedAt: run.startedAt,
        ...(run.interrupted === undefined ? {} : { properties: [['interrupted', run.interrupted]] }),
        cases: run.gates.map((g) => {
          const s = statusOf(g);
          return {
            name: g.title,
            classname: 'load',
            durationMs: g.durationMs,
            ...(s === 'passed'
              ? {}
              : {
                  outcome:
                    s === 'skipped'
                      ? { tag: 'skipped', message: messageOf(g) }
                      : {
                          tag: s === 'failed' ? 'failure' : 'error',
                          message: messageOf(g),
                          detail: messageOf(g),
                        },
                }),
          };
        }),
      },
    ],
  });
}
