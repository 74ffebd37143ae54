/** Output of `echolot load --mode search`: one line per trial as it ends, the closing report, and the JSON document. */
import type { SearchResult, SearchTrial } from '../load/search.js';
import type { ThresholdOutcome } from '../load/thresholds.js';
import { thresholdsJson, type ThresholdJson } from './load-json.js';
import {
  formatLatency,
  formatPercent,
  formatRate,
  paint,
  renderThresholds,
  table,
  type LoadConsoleStyle,
  type LoadReportInfo,
} from './load-console.js';

/** The document of `--json` and load.json in search mode: the SearchResult plus the thresholds judged on its final trial. */
export type SearchReportJson = SearchResult & {
  readonly thresholds: readonly ThresholdJson[];
  /** False when no rate passed or a threshold was breached (the CLI then exits 1). */
  readonly passed: boolean;
};

/** True when the search found a rate and every threshold holds. */
export function searchPassed(result: SearchResult, outcomes: readonly ThresholdOutcome[]): boolean {
  return result.foundRate !== null && outcomes.every((o) => o.ok);
}

/** The report document (pure). */
export function searchReport(result: SearchResult, outcomes: readonly ThresholdOutcome[]): SearchReportJson {
  return { ...result, thresholds: thresholdsJson(outcomes), passed: searchPassed(result, outcomes) };
}

/** `--json` and load.json in search mode. */
export function renderSearchJson(result: SearchResult, outcomes: readonly ThresholdOutcome[]): string {
  return `${JSON.stringify(searchReport(result, outcomes), null, 2)}\n`;
}

/** `--ndjson` in search mode: one `"type":"trial"` line per trial. */
export function renderTrialLine(trial: SearchTrial): string {
  return `${JSON.stringify({ type: 'trial', ...trial })}\n`;
}

/** `--ndjson` in search mode: the closing `"type":"result"` line. */
export function renderSearchResultLine(result: SearchResult, outcomes: readonly ThresholdOutcome[]): string {
  return `${JSON.stringify({ type: 'result', ...searchReport(result, outcomes) })}\n`;
}

const verdict = (t: SearchTrial): string => (t.passed ? 'pass' : t.healthy ? 'fail' : 'generator');

/** One human line per trial, printed as it ends. */
export function renderTrialProgress(t: SearchTrial): string {
  const p99 = t.p99Us === null ? '-' : formatLatency(t.p99Us);
  const why = t.reasons.length > 0 ? `  (${t.reasons.join('; ')})` : '';
  return `  ${t.phase.padEnd(6)} ${formatRate(t.offered).padStart(9)}/s offered  ${formatRate(t.achieved).padStart(9)}/s echoed  loss ${formatPercent(t.lossPercent).padStart(6)}  p99 ${p99.padStart(8)}  ${verdict(t)}${why}\n`;
}

/** The closing report of a search: every trial, the found rate, the spread, what limited it, thresholds. */
export function renderSearchResult(
  result: SearchResult,
  outcomes: readonly ThresholdOutcome[],
  style: LoadConsoleStyle,
  report: LoadReportInfo = {},
): string {
  const lines: string[] = [''];
  lines.push(
    ...table(
      style,
      ['trial', 'phase', 'offered/s', 'achieved/s', 'loss', 'p99', 'generator', 'result'],
      result.trials.map((t, i) => [
        String(i + 1),
        t.phase,
        formatRate(t.offered),
        formatRate(t.achieved),
        formatPercent(t.lossPercent),
        t.p99Us === null ? '-' : formatLatency(t.p99Us),
        t.healthy ? 'healthy' : 'bottleneck',
        verdict(t),
      ]),
    ),
    '',
  );
  const c = result.criteria;
  lines.push(
    `criteria: loss <= ${c.maxLossPercent}%${c.maxP99Us === null ? '' : `, p99 <= ${formatLatency(c.maxP99Us)}`}, generator healthy; trials of ${c.trialMs / 1000} s after ${c.warmupMs / 1000} s warm-up`,
  );
  const found = result.foundRate === null ? 'no rate passed' : `found rate ${formatRate(result.foundRate)}/s`;
  lines.push(paint(style, '1', found));
  const s = result.spread;
  if (s) {
    const p99 =
      s.p99Us.min === null || s.p99Us.max === null
        ? '-'
        : `${formatLatency(s.p99Us.min)}..${formatLatency(s.p99Us.max)}`;
    lines.push(
      `repeated ${s.trials}x at ${formatRate(s.offered)}/s: ${s.passed}/${s.trials} passed, achieved ${formatRate(s.achieved.min)}..${formatRate(s.achieved.max)}/s (mean ${formatRate(s.achieved.mean)}), loss ${formatPercent(s.lossPercent.min)}..${formatPercent(s.lossPercent.max)}, p99 ${p99}`,
    );
  }
  if (result.limitedBy === 'interrupted') lines.push(paint(style, '33', `INTERRUPTED: ${result.statement}`));
  else {
    const limited = `limited by ${result.limitedBy}: ${result.statement}`;
    lines.push(result.limitedBy === 'generator' ? paint(style, '33', limited) : limited);
  }
  const gates = renderThresholds(outcomes, style);
  if (gates.length > 0) lines.push('', '(thresholds judged on the last trial at the found rate)', ...gates);
  lines.push(
    '',
    `search of ${result.trials.length} trials in ${(result.durationMs / 1000).toFixed(1)} s${report.loadJson === undefined ? '' : `, report ${report.loadJson}`}`,
  );
  return `${lines.join('\n')}\n`;
}
