/**
 * Load gates as mocha tests (suites/load/*.spec.ts): each gate is one bounded load run against the
 * suite's target, judged by k6-like thresholds. `echolot load --suite` runs them (runLoadSuite) and
 * writes the same reports as `echolot check`: mochawesome, summary.json (CTRF), junit.xml.
 */
import { AssertionError } from 'node:assert';
import addContext from 'mochawesome/addContext.js';
import { evaluateThresholds, parseThresholds, thresholdsPassed, type ThresholdKind } from './thresholds.js';
import { runLoad } from './run-load.js';
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

/** The suite run that gates see while mocha runs them. */
export interface ActiveLoadSuite {
  readonly runId: string;
  /** HOST:PORT of the target (the embedded server's loopback address when there is none). */
  readonly target: string;
  readonly ownTarget: boolean;
  readonly record: (r: GateRecord) => void;
}

let current: ActiveLoadSuite | undefined;

/** Makes `suite` the one gates see; suites do not nest. */
export function setActiveLoadSuite(suite: ActiveLoadSuite): void {
  if (current) throw new Error(`a load suite (${current.runId}) is already active: runs do not nest`);
  current = suite;
}

/** Ends the active suite. */
export function clearActiveLoadSuite(): void {
  current = undefined;
}

function active(): ActiveLoadSuite {
  if (!current) {
    throw new Error(
      'no active load suite: run suites/load with `echolot load --suite`, not with plain mocha',
    );
  }
  return current;
}

/** Bound on a gate's run beyond its own warm-up, measurement and drain, ms (start-up, spawning). */
const GATE_SLACK_MS = 15_000;

/** Longest a gate may measure (warm-up + duration), so the suite stays a few seconds per gate. */
export const MAX_GATE_MS = 10_000;

/**
 * Registers one load gate: a mocha test that runs `options` against the suite's target and fails
 * when a threshold is breached. Thresholds are parsed now, so a typo fails the load, not the run.
 */
export function loadGate(title: string, options: GateOptions, thresholds: readonly string[]): void {
  const parsed = parseThresholds(thresholds);
  const measuredMs = (options.warmupMs ?? 0) + (options.durationMs ?? 10_000);
  if (measuredMs > MAX_GATE_MS) {
    throw new Error(`load gate '${title}': warm-up + duration ${measuredMs} ms is above ${MAX_GATE_MS} ms`);
  }
  it(title, async function () {
    this.timeout(measuredMs + (options.drainMs ?? 1000) + GATE_SLACK_MS);
    const suite = active();
    const file = this.test?.file ?? '';
    const started = Date.now();
    let result: LoadResult;
    try {
      result = await runLoad({ ...options, target: suite.target, ownTarget: suite.ownTarget });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      suite.record({
        title,
        file,
        passed: false,
        error: message,
        thresholds: [],
        durationMs: Date.now() - started,
      });
      throw err;
    }
    const outcomes = evaluateThresholds(result, parsed);
    const passed = thresholdsPassed(outcomes);
    const rows = outcomes.map((o) => ({
      threshold: o.threshold.source,
      kind: o.threshold.kind,
      actual: Number.isFinite(o.actual) ? o.actual : null,
      ok: o.ok,
    }));
    suite.record({ title, file, passed, thresholds: rows, durationMs: Date.now() - started, result });
    addContext(this, {
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
  });
}
