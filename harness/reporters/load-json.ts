import type { IntervalStats, LoadResult } from '../load/types.js';
import type { ThresholdKind, ThresholdOutcome } from '../load/thresholds.js';

/** One threshold as JSON: the expression, what it reads, its limit and the measured value (null when there was nothing to measure). */
export interface ThresholdJson {
  readonly threshold: string;
  readonly metric: string;
  readonly scope?: string;
  readonly kind: ThresholdKind;
  /** us for latency, percent of sent for ratio, count, or per second for rate. */
  readonly limit: number;
  readonly actual: number | null;
  readonly ok: boolean;
}

/** The document of `--json` and of reports/<run-id>/load.json: the LoadResult plus the evaluated thresholds. */
export type LoadReportJson = LoadResult & {
  /** The generator's datagram I/O path (ECHOLOT_IO=dgram forces 'dgram'). */
  readonly io: 'native' | 'dgram';
  readonly thresholds: readonly ThresholdJson[];
  /** False when a threshold was breached (the CLI then exits 1). */
  readonly passed: boolean;
};

/** Threshold outcomes in their JSON form (NaN becomes null, so the document stays valid JSON). */
export function thresholdsJson(outcomes: readonly ThresholdOutcome[]): ThresholdJson[] {
  return outcomes.map(({ threshold: t, actual, ok }) => ({
    threshold: t.source,
    metric: t.metric,
    ...(t.scope === undefined ? {} : { scope: t.scope }),
    kind: t.kind,
    limit: t.limit,
    actual: Number.isFinite(actual) ? actual : null,
    ok,
  }));
}

/** The report document (pure). */
export function loadReport(result: LoadResult, outcomes: readonly ThresholdOutcome[]): LoadReportJson {
  const io = result.ioPath.startsWith('native') ? 'native' : 'dgram';
  return { ...result, io, thresholds: thresholdsJson(outcomes), passed: outcomes.every((o) => o.ok) };
}

/** `--json` and load.json: the report, pretty-printed, newline-terminated. */
export function renderLoadJson(result: LoadResult, outcomes: readonly ThresholdOutcome[]): string {
  return `${JSON.stringify(loadReport(result, outcomes), null, 2)}\n`;
}

/** `--ndjson`: one line per interval, tagged `"type":"interval"`. */
export function renderIntervalLine(interval: IntervalStats): string {
  return `${JSON.stringify({ type: 'interval', ...interval })}\n`;
}

/** `--ndjson`: the closing line, tagged `"type":"result"`, holding the whole report. */
export function renderResultLine(result: LoadResult, outcomes: readonly ThresholdOutcome[]): string {
  return `${JSON.stringify({ type: 'result', ...loadReport(result, outcomes) })}\n`;
}
