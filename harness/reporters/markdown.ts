import type { LatencySummary } from '../load/types.js';
import { caseExpectations, type Summary } from '../results/summary.js';
import { VERDICTS } from '../results/verdict.js';
import { exitReason } from './console.js';
import type { LoadReportJson } from './load-json.js';
import { formatLatency, formatThresholdActual, loadOutcome } from './load-console.js';
import { formatEndpoint } from '../core/address.js';
import { escapeControls } from '../core/escape.js';

/** Rows of cases listed in the Markdown summary; the rest are in the HTML report. */
const MAX_CASE_ROWS = 50;
/** Longest message in a table cell. */
const MAX_CELL_CHARS = 200;

/** Text safe in a GitHub-flavoured Markdown table cell: one line, no control characters, pipes and markup escaped. */
const cell = (s: string): string => {
  const one = escapeControls(s.replace(/\s+/g, ' ').trim());
  const cut = one.length > MAX_CELL_CHARS ? `${one.slice(0, MAX_CELL_CHARS - 3)}...` : one;
  return cut.replace(/[\\`*_<>[\]|]/g, (c) => `\\${c}`);
};

const num = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * A check run as Markdown for $GITHUB_STEP_SUMMARY: the outcome, counts by verdict and the cases
 * that need attention (every non-PASS or unexpected case, capped), then where the report is.
 */
export function renderCheckMarkdown(summary: Summary, reportPath?: string): string {
  const run = summary.run;
  const judged = caseExpectations(summary);
  const byId = new Map(judged.map((e) => [e.id, e]));
  const where = run.target.embedded
    ? 'the embedded reference server'
    : `${run.target.input} (${formatEndpoint(run.target.address, run.target.port)})`;
  const icon = summary.exitCode === 0 ? '✅' : '❌';
  const lines = [
    `### ${icon} echolot check: ${cell(where)}`,
    '',
    `**exit code ${summary.exitCode}**: ${cell(exitReason(summary, judged))}. ${summary.total} cases in ${(run.durationMs / 1000).toFixed(1)} s, run \`${run.runId}\`.`,
    '',
    '| verdict | cases |',
    '| --- | ---: |',
    ...VERDICTS.filter((v) => summary.counts[v] > 0).map((v) => `| ${v} | ${summary.counts[v]} |`),
  ];
  const attention = summary.cases.filter((c) => c.verdict !== 'PASS' || byId.get(c.id)?.unexpected === true);
  if (attention.length > 0) {
    lines.push('', '| case | verdict | title | finding |', '| --- | --- | --- | --- |');
    for (const c of attention.slice(0, MAX_CASE_ROWS)) {
      const e = byId.get(c.id);
      const mark = e?.unexpected
        ? ' (unexpected)'
        : summary.expectations?.file && e?.from !== 'unlisted'
          ? ' (expected)'
          : '';
      lines.push(`| ${c.id} | ${c.verdict}${mark} | ${cell(c.title)} | ${cell(c.message)} |`);
    }
    if (attention.length > MAX_CASE_ROWS) {
      lines.push('', `... and ${attention.length - MAX_CASE_ROWS} more in the HTML report.`);
    }
  }
  if (reportPath !== undefined) lines.push('', `Report: \`${reportPath}\``);
  return `${lines.join('\n')}\n\n`;
}

const LATENCY: readonly [string, keyof LatencySummary][] = [
  ['p50', 'p50'],
  ['p90', 'p90'],
  ['p99', 'p99'],
  ['p99.9', 'p999'],
  ['max', 'max'],
];

/** A load run as Markdown for $GITHUB_STEP_SUMMARY: thresholds, latency, rates and loss. */
export function renderLoadMarkdown(report: LoadReportJson, reportPath?: string): string {
  const c = report.counters;
  const outcome = loadOutcome(report);
  const icon = outcome === 'PASSED' ? '✅' : outcome === 'INCONCLUSIVE' ? '⚠️' : '❌';
  const target = report.target.embedded
    ? 'the reference server on loopback'
    : `${report.target.input} (${formatEndpoint(report.target.address, report.target.port)})`;
  const lat = (label: string, s: LatencySummary): string =>
    `| ${label} | ${LATENCY.map(([, k]) => (s.count === 0 ? '-' : formatLatency(s[k]))).join(' | ')} |`;
  const lines = [
    `### ${icon} echolot load: ${cell(target)}${outcome === 'PASSED' || outcome === 'FAILED' ? '' : ` (${outcome})`}`,
    '',
    `${report.mode} mode, ${(report.durationMs / 1000).toFixed(1)} s, run \`${report.runId}\`${report.generator.bottleneck ? '; **the generator was the bottleneck**, no server capacity is claimed' : ''}.`,
    '',
    `| latency | ${LATENCY.map(([h]) => h).join(' | ')} |`,
    `| --- | ${LATENCY.map(() => '---:').join(' | ')} |`,
    lat('response', report.response),
    lat('service', report.service),
    '',
    '| offered/s | achieved echoes/s | sent | lost | duplicates | reordered | corrupted |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${report.mode === 'rate' ? num(report.rates.offered) : '-'} | ${num(report.rates.echoes)} | ${num(c.sent)} | ${num(c.lost)} | ${num(c.duplicates)} | ${num(c.reordered)} | ${num(c.corrupted)} |`,
  ];
  if (report.thresholds.length > 0) {
    lines.push('', '| threshold | actual | result |', '| --- | ---: | --- |');
    for (const t of report.thresholds) {
      lines.push(
        `| \`${t.threshold.replace(/[`|]/g, '')}\` | ${formatThresholdActual(t.kind, t.actual)} | ${t.ok ? 'ok' : '**breached**'} |`,
      );
    }
  }
  if (reportPath !== undefined) lines.push('', `Report: \`${reportPath}\``);
  return `${lines.join('\n')}\n\n`;
}
