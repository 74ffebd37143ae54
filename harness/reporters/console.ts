import { CATALOGUE, type CaseDefinition } from '../results/catalogue.js';
import type { CaseResult } from '../results/case-result.js';
import type { CaseExpectation, ExpectationStatus } from '../results/exit-decision.js';
import type { ExpectationChange } from '../results/expectations.js';
import { caseExpectations, type RunInfo, type Summary } from '../results/summary.js';
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

const UNEXPECTED_LABEL: Readonly<Record<Exclude<ExpectationStatus, 'expected'>, string>> = {
  'unexpected-fail': 'unexpected FAIL',
  'unexpected-error': 'unexpected ERROR',
  'unexpected-pass': 'unexpected pass',
};

/** What was expected of a case, in words: a listed case's verdicts, or the rule for unlisted ones. */
const expectedText = (e: CaseExpectation): string =>
  e.from === 'unlisted'
    ? 'not listed (anything but FAIL or ERROR expected)'
    : `expected ${e.expected.join('/')}`;

/** Why the run exits as it does, naming the cases that decided it (console, HTML and Markdown reports). */
export function exitReason(
  summary: Summary,
  judged: readonly CaseExpectation[] = caseExpectations(summary),
): string {
  const ids = (status: ExpectationStatus): string[] =>
    judged.filter((e) => e.status === status).map((e) => e.id);
  const withFile = summary.expectations?.file !== undefined;
  switch (summary.exitCode) {
    case 1:
      return `${withFile ? 'unexpected FAIL' : 'FAIL'}: ${ids('unexpected-fail').join(', ')}`;
    case 70:
      return `${withFile ? 'unexpected ERROR' : 'ERROR'}: ${ids('unexpected-error').join(', ')}`;
    case 2:
      return `unexpected pass with --fail-on-unexpected-pass: ${ids('unexpected-pass').join(', ')}`;
    default: {
      const stale = ids('unexpected-pass');
      return stale.length > 0
        ? `all failures expected; unexpected pass (not gated without --fail-on-unexpected-pass): ${stale.join(', ')}`
        : withFile
          ? 'all results as expected'
          : 'no FAIL or ERROR';
    }
  }
}

/**
 * Counts by catalogue section and verdict, one row per section that ran and a total row; only the
 * verdicts that occurred get a column. Cells are padded before painting so ANSI codes keep columns.
 */
export function renderSummaryTable(summary: Summary, style: ConsoleStyle): string {
  const sectionOf = new Map(CATALOGUE.map((c) => [c.id, c.section]));
  const sections = new Map<string, Record<Verdict, number>>();
  const zero = (): Record<Verdict, number> =>
    Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const c of summary.cases) {
    const name = sectionOf.get(c.id) ?? c.id.split('.')[0] ?? c.id;
    const row = sections.get(name) ?? zero();
    row[c.verdict]++;
    sections.set(name, row);
  }
  const columns = VERDICTS.filter((v) => summary.counts[v] > 0);
  const rows: [string, Record<Verdict, number>, number][] = [...sections].map(([name, counts]) => [
    name,
    counts,
    columns.reduce((n, v) => n + counts[v], 0),
  ]);
  rows.push(['total', { ...summary.counts }, summary.total]);
  const first = Math.max('section'.length, ...rows.map(([name]) => name.length));
  const widths = columns.map((v) =>
    Math.max(v.length, ...rows.map(([, counts]) => String(counts[v]).length)),
  );
  const totalWidth = Math.max('total'.length, String(summary.total).length);
  const bold = (t: string): string => (style.color ? `\u001b[1m${t}\u001b[0m` : t);
  const line = (name: string, cells: string[], total: string): string =>
    `  ${name.padEnd(first)}  ${cells.join('  ')}  ${total}`.trimEnd();
  const out = [
    bold(
      line(
        'section',
        columns.map((v, i) => v.padStart(widths[i] ?? 0)),
        'total'.padStart(totalWidth),
      ),
    ),
    `  ${'-'.repeat(first)}  ${widths.map((w) => '-'.repeat(w)).join('  ')}  ${'-'.repeat(totalWidth)}`,
  ];
  for (const [name, counts, total] of rows) {
    const cells = columns.map((v, i) => {
      const text = String(counts[v]).padStart(widths[i] ?? 0);
      return counts[v] > 0 && v !== 'PASS' ? paint(style, v, text) : text;
    });
    out.push(line(name, cells, String(total).padStart(totalWidth)));
  }
  return `${out.join('\n')}\n`;
}

/**
 * The closing summary: a table by section and verdict, counts by verdict, the cases that need attention (marked expected or
 * UNEXPECTED when an expectations file is used), the unexpected results by kind, and the exit code
 * with the cases that decided it.
 */
export function renderSummary(summary: Summary, style: ConsoleStyle): string {
  const counts = VERDICTS.filter((v) => summary.counts[v] > 0)
    .map((v) => paint(style, v, `${summary.counts[v]} ${v}`))
    .join(', ');
  const judged = caseExpectations(summary);
  const byId = new Map(judged.map((e) => [e.id, e]));
  const file = summary.expectations?.file;
  const attention = summary.cases.filter((c) => c.verdict !== 'PASS' || byId.get(c.id)?.unexpected === true);
  const lines = [
    '',
    renderSummaryTable(summary, style).trimEnd(),
    '',
    `${summary.total} case${summary.total === 1 ? '' : 's'}: ${counts} in ${(summary.run.durationMs / 1000).toFixed(1)} s`,
  ];
  if (file !== undefined) {
    const key = summary.expectations?.targetKey;
    lines.push(
      `expectations: ${file} (${key === undefined ? 'no entries for this target, default section and unlisted rule only' : `target ${key}`})`,
    );
  }
  if (attention.length > 0) {
    lines.push('');
    const width = Math.max(...attention.map((c) => c.verdict.length));
    for (const c of attention) {
      const e = byId.get(c.id);
      const mark =
        file === undefined || !e
          ? ''
          : e.unexpected
            ? `  [UNEXPECTED, ${expectedText(e)}]`
            : `  [expected${e.bug ? `, ${e.bug}` : ''}]`;
      lines.push(
        `  ${paint(style, c.verdict, c.verdict.padEnd(width))}  ${c.id.padEnd(5)} ${c.title}: ${c.message}${mark}`,
      );
    }
  }
  if (file !== undefined) {
    for (const [status, label] of Object.entries(UNEXPECTED_LABEL)) {
      const found = judged.filter((e) => e.status === status);
      if (found.length === 0) continue;
      lines.push('', `${label} (${found.length}):`);
      for (const e of found) {
        const title = summary.cases.find((c) => c.id === e.id)?.title ?? '';
        lines.push(`  ${e.id} ${title}: ${e.verdict}, ${expectedText(e)}${e.bug ? ` (${e.bug})` : ''}`);
      }
    }
  }
  lines.push('', `exit code ${summary.exitCode}: ${exitReason(summary, judged)}`);
  return `${lines.join('\n')}\n`;
}

/** What --update-expectations changed in the file, one line per case. */
export function renderExpectationsUpdate(update: {
  readonly file: string;
  readonly targetKey: string;
  readonly changes: readonly ExpectationChange[];
}): string {
  const n = update.changes.length;
  const lines = [
    `expectations: wrote ${update.file} (target ${update.targetKey}): ${n === 0 ? 'no changes' : `${n} change${n === 1 ? '' : 's'}`}`,
  ];
  for (const c of update.changes) {
    const before = c.before?.join('/') ?? '';
    const after = c.after?.join('/') ?? '';
    lines.push(
      c.kind === 'added'
        ? `  added    ${c.id.padEnd(5)} expected ${after}`
        : c.kind === 'changed'
          ? `  changed  ${c.id.padEnd(5)} expected ${before} -> ${after}`
          : `  removed  ${c.id.padEnd(5)} was expected ${before}, now ${c.verdict}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
