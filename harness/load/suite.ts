/**
 * Load gates as mocha tests (suites/load/): each gate is one bounded load run against the
 * suite's target, judged by k6-like thresholds. `echolot load --suite` runs them (runLoadSuite) and
 * writes the same reports as `echolot check`: mochawesome, summary.json (CTRF), junit.xml.
 */
import { AssertionError } from 'node:assert';
import Mocha from 'mocha';
import addContext from 'mochawesome/addContext.js';
import { evaluateThresholds, parseThresholds, thresholdsPassed, type ThresholdKind } from './thresholds.js';
import { runLoad } from './run-load.js';
import { interruptReason } from '../core/exit-signal.js';
import type { LoadOptions, LoadResult } from './types.js';

/** The options a gate may set: everything but the target, which is the suite's. */
export type GateOptions = Omit<LoadOptions, 'target' | 'onInterval' | 'ownTarget'>;

/** One gate's outcome, as the suite runner records it. */
export interface GateRecord {
  readonly title: string;
  readonly file: string;
  readonly passed: boolean;
  /** Set when the run itself failed (not a threshold): the gate is an error. */
  readonly error?: string;
  /**
   * Set when a signal stopped the suite before this gate ended (`GateRun.signal`): it was cut short
   * or never started, so it is not judged; why, e.g. "interrupted by SIGINT".
   */
  readonly notRun?: string;
  readonly thresholds: readonly {
    readonly threshold: string;
    /** How `actual` reads: us (latency), percent of sent (ratio), a count, or per second (rate). */
    readonly kind: ThresholdKind;
    readonly actual: number | null;
    readonly ok: boolean;
  }[];
  readonly durationMs: number;
  readonly result?: LoadResult;
}

/** Bound on a gate's run beyond its own warm-up, measurement and drain, ms (start-up, spawning). */
const GATE_SLACK_MS = 15_000;

/** Longest a gate may measure (warm-up + duration), so the suite stays a few seconds per gate. */
export const MAX_GATE_MS = 10_000;

/** One load gate: a short load run with its own options, judged by k6-like thresholds. */
export interface LoadGate {
  readonly title: string;
  readonly options: GateOptions;
  readonly thresholds: readonly string[];
}

/** Gates that belong together, as one suite of the report (suites/load/<file>). */
export interface GateGroup {
  /** Suite title in the mochawesome report, e.g. "load: open-loop rate". */
  readonly title: string;
  /** Where the gates are defined, e.g. "load/1-rate.ts" (the CTRF suite of each gate). */
  readonly suite: string;
  readonly gates: readonly LoadGate[];
}

/** What a gate run needs from the suite: the target, and where its record goes. */
export interface GateRun {
  /** HOST:PORT of the target. */
  readonly target: string;
  readonly ownTarget: boolean;
  /** Aborted to stop the suite: the gate under way ends early, and it and every later one are not run. */
  readonly signal?: AbortSignal;
  readonly record: (r: GateRecord) => void;
}

/**
 * Checks a gate before anything runs: its thresholds parse and its measured time stays within
 * MAX_GATE_MS. A bad gate is a programming error in its group, thrown at once.
 */
export function checkGate(gate: LoadGate): void {
  parseThresholds(gate.thresholds);
  const measuredMs = (gate.options.warmupMs ?? 0) + (gate.options.durationMs ?? 10_000);
  if (measuredMs > MAX_GATE_MS) {
    throw new Error(
      `load gate '${gate.title}': warm-up + duration ${measuredMs} ms is above ${MAX_GATE_MS} ms`,
    );
  }
}

/**
 * Registers the gates of `groups` under mocha's root suite: a suite per group, a test per gate
 * that runs it against the run's target and fails when a threshold is breached.
 */
export function registerGates(root: Mocha.Suite, groups: readonly GateGroup[], run: GateRun): void {
  for (const group of groups) {
    for (const gate of group.gates) checkGate(gate);
    const suite = Mocha.Suite.create(root, group.title);
    for (const gate of group.gates) {
      const test = new Mocha.Test(gate.title, async function (this: Mocha.Context) {
        await runGate(this, gate, group.suite, run);
      });
      const { options } = gate;
      test.timeout(
        (options.warmupMs ?? 0) + (options.durationMs ?? 10_000) + (options.drainMs ?? 1000) + GATE_SLACK_MS,
      );
      suite.addTest(test);
    }
  }
}

/** Runs one gate, records it, attaches its figures to the report and throws when a threshold is breached. */
async function runGate(test: Mocha.Context, gate: LoadGate, file: string, run: GateRun): Promise<void> {
  const { title, options, thresholds } = gate;
  const parsed = parseThresholds(thresholds);
  const started = Date.now();
  const notRun = (): void => {
    const why = `interrupted by ${interruptReason(run.signal as AbortSignal)}`;
    run.record({ title, file, passed: false, notRun: why, thresholds: [], durationMs: Date.now() - started });
    test.skip();
  };
  if (run.signal?.aborted === true) return notRun();
  let result: LoadResult;
  try {
    // The suite preflighted the target once (runLoadSuite); a gate after a heavy one is not.
    result = await runLoad({
      ...options,
      target: run.target,
      ownTarget: run.ownTarget,
      preflight: false,
      ...(run.signal === undefined ? {} : { signal: run.signal }),
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    run.record({
      title,
      file,
      passed: false,
      error: message,
      thresholds: [],
      durationMs: Date.now() - started,
    });
    throw err;
  }
  // Cut short: it measured less than the gate asks for, so it is not judged.
  if (result.interrupted !== undefined) return notRun();
  const outcomes = evaluateThresholds(result, parsed);
  const passed = thresholdsPassed(outcomes);
  const rows = outcomes.map((o) => ({
    threshold: o.threshold.source,
    kind: o.threshold.kind,
    actual: Number.isFinite(o.actual) ? o.actual : null,
    ok: o.ok,
  }));
  run.record({ title, file, passed, thresholds: rows, durationMs: Date.now() - started, result });
  addContext(test, {
    title: `load run ${result.runId}: ${result.mode}, ${result.counters.sent} sent, ${result.rates.echoes}/s echoed`,
    value: {
      thresholds: rows,
      counters: result.counters,
      rates: result.rates,
      response: result.response,
      generator: result.generator,
    },
  });
  if (!passed) {
    const failed = rows.filter((r) => !r.ok).map((r) => `${r.threshold} (actual ${String(r.actual)})`);
    throw new AssertionError({ message: `threshold breached: ${failed.join(', ')}` });
  }
}
