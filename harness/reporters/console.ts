import type { CaseDefinition } from '../results/catalogue.js';
import type { CaseResult } from '../results/case-result.js';
import type { RunInfo, Summary } from '../results/summary.js';
import { VERDICTS, type Verdict } from '../results/verdict.js';
import { formatEndpoint } from '../spec/target.js';

/** Whether to colour the output (the CLI decides: TTY and no NO_COLOR). */
export interface ConsoleStyle {
  readonly color: boolean;
}

const COLORS: Readonly<Record<Verdict, string>> = {
  PASS: '32',
  FLAKY: '33',
  INFO: '36',
  'NON-STRICT': '33',
  UNSUPPORTED: '90',
  FAIL: '31',
  ERROR: '35',
};

const paint = (style: ConsoleStyle, verdict: Verdict, text: string): string =>
  style.color ? `\u001b[${COLORS[verdict]}m${text}\u001b[0m` : text;

/** The header line of a run: what is checked, where, how many cases. */
export function renderRunHeader(run: RunInfo, selected: readonly CaseDefinition[]): string {
  const where = run.target.embedded
    ? `the embedded reference server at ${formatEndpoint(run.target.address, run.target.port)}`
    : `${run.target.input} (${formatEndpoint(run.target.address, run.target.port)})`;
  const note = run.preflight.note ? `\n  note: ${run.preflight.note}` : '';
  return `echolot ${run.tool.version}: checking ${where}, ${selected.length} case${selected.length === 1 ? '' : 's'}, run ${run.runId}${note}\n`;
}

/** One line per graded case, as it completes. */
export function renderCaseLine(result: CaseResult, style: ConsoleStyle): string {
  return `  ${paint(style, result.verdict, result.verdict.padEnd(11))} ${result.id.padEnd(5)} ${result.message} (${result.durationMs} ms)\n`;
}

/** The closing summary: counts by verdict, the cases that need attention, the exit code. */
export function renderSummary(summary: Summary, style: ConsoleStyle): string {
  const counts = VERDICTS.filter((v) => summary.counts[v] > 0)
    .map((v) => paint(style, v, `${summary.counts[v]} ${v}`))
    .join(', ');
  const attention = summary.cases.filter((c) => c.verdict !== 'PASS');
  const lines = [
    '',
    `${summary.total} case${summary.total === 1 ? '' : 's'}: ${counts} in ${(summary.run.durationMs / 1000).toFixed(1)} s`,
  ];
  if (attention.length > 0) {
    lines.push('');
    const width = Math.max(...attention.map((c) => c.verdict.length));
    for (const c of attention)
      lines.push(
        `  ${paint(style, c.verdict, c.verdict.padEnd(width))}  ${c.id.padEnd(5)} ${c.title}: ${c.message}`,
      );
  }
  lines.push('', `exit code ${summary.exitCode}`);
  return `${lines.join('\n')}\n`;
}
