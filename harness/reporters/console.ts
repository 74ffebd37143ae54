import type { CaseDefinition } from '../results/case-definition.js';
import type { CaseResult } from '../results/case-result.js';
import type { CaseExpectation, ExpectationStatus } from '../results/exit-decision.js';
import type { ExpectationChange } from '../results/expectations.js';
import { caseExpectations, type RunInfo, type Summary } from '../results/summary.js';
import type { DatagramAccounting } from '../results/run-info.js';
import { VERDICTS, type Verdict } from '../results/verdict.js';
import { formatEndpoint } from '../core/address.js';
import { escapeControls } from '../core/escape.js';
import { hexComparisons, PLAIN, renderDumpLines } from './hex-dump.js';

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
  'NOT-RUN': '90',
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

/** One line per graded case, as it completes (the message with no control characters: see escapeControls). */
export function renderCaseLine(result: CaseResult, style: ConsoleStyle): string {
  return `  ${paint(style, result.verdict, result.verdict.padEnd(11))} ${result.id.padEnd(5)} ${escapeControls(result.message)} (${result.durationMs} ms)\n`;
}

/** The line printed when a breach that showed after a case ended changes its verdict. */
export function renderAmendLine(result: CaseResult, before: CaseResult, style: ConsoleStyle): string {
  return `  ${paint(style, result.verdict, 'AMENDED'.padEnd(11))} ${result.id.padEnd(5)} ${before.verdict} -> ${paint(style, result.verdict, result.verdict)}: ${escapeControls(result.message)}\n`;
}

/** The run's datagrams in one line: what went out, what came back and what else arrived. */
export function renderAccounting(d: DatagramAccounting): string {
  const extra = [
    d.late > 0 ? `${d.late} late` : '',
    d.duplicates > 0 ? `${d.duplicates} duplicates` : '',
    d.misdelivered > 0 ? `${d.misdelivered} misdelivered` : '',
    d.unmatched > 0 ? `${d.unmatched} unmatched` : '',
    d.stale > 0 ? `${d.stale} to sockets closed on purpose` : '',
    d.foreign > 0 ? `${d.foreign} foreign (not the target's, not blamed)` : '',
  ].filter(Boolean);
  return `datagrams: ${d.requests} sent, ${d.replies} replies${extra.length ? `; ${extra.join(', ')}` : ''}`;
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

/** Whether `c` is one of the cases an interruption of the run left NOT-RUN. */
export function leftByInterrupt(summary: Summary, c: CaseResult): boolean {
  const by = summary.run.interrupted;
  return by !== undefined && c.verdict === 'NOT-RUN' && c.message.includes(`interrupted by ${by}`);
}

/** Why the run exits as it does, naming the cases that decided it (console, HTML and Markdown reports). */
export function exitReason(
  summary: Summary,
  judged: readonly CaseExpectation[] = caseExpectations(summary),
): string {
  const ids = (status: ExpectationStatus): string[] =>
    judged.filter((e) => e.status === status).map((e) => e.id);
  const notStarted = summary.run.notStarted;
  if (notStarted !== undefined) return `the run did not start (${notStarted.stage}): ${notStarted.diagnosis}`;
  const withFile = summary.expectations?.file !== undefined;
  if (summary.run.interrupted !== undefined) {
    const notRun = summary.cases.filter((c) => leftByInterrupt(summary, c)).length;
    return `interrupted by ${summary.run.interrupted}: ${notRun} of ${summary.total} case${summary.total === 1 ? '' : 's'} not run`;
  }
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
  const sections = new Map<string, Record<Verdict, number>>();
  const zero = (): Record<Verdict, number> =>
    Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const c of summary.cases) {
    const name = c.section;
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
  // The cases an interruption left are counted in the last line, not listed one by one.
  const attention = summary.cases.filter(
    (c) => (c.verdict !== 'PASS' || byId.get(c.id)?.unexpected === true) && !leftByInterrupt(summary, c),
  );
  const lines = [
    '',
    renderSummaryTable(summary, style).trimEnd(),
    '',
    `${summary.total} case${summary.total === 1 ? '' : 's'}: ${counts} in ${(summary.run.durationMs / 1000).toFixed(1)} s`,
    ...(summary.run.datagrams ? [renderAccounting(summary.run.datagrams)] : []),
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
        `  ${paint(style, c.verdict, c.verdict.padEnd(width))}  ${c.id.padEnd(5)} ${c.title}: ${escapeControls(c.message)}${escapeControls(mark)}`,
      );
      // The first payload comparison of a failed case, as a hex dump (the rest are in index.html).
      const [diff] = c.verdict === 'FAIL' || c.verdict === 'NON-STRICT' ? hexComparisons(c.evidence, 1) : [];
      // A dump holds only hex digits, printable ASCII, spaces and, with colour, the marks it adds.
      const dump = diff
        ? renderDumpLines(
            diff,
            style.color ? { text: (t) => t, mark: (t) => `\u001b[31m${t}\u001b[0m` } : PLAIN,
          )
        : [];
      if (diff && dump.length > 0) {
        lines.push(
          `      ${escapeControls(diff.path)}${diff.summary ? `: ${escapeControls(diff.summary)}` : ''}`,
          ...dump.map((l) => `      ${l}`),
        );
      }
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

/** Where a check is, for the status line on a terminal. */
export interface CheckProgress {
  /** How many cases have started (the running one included). */
  readonly started: number;
  /** How many cases are selected. */
  readonly total: number;
  /** The case running now (absent between cases: only the counter and the time are shown). */
  readonly current?: { readonly id: string; readonly title: string };
  /** Time since the first case started. */
  readonly elapsedMs: number;
}

/** Elapsed time as `7 s`, `1:05` or `1:02:03`. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  if (total < 60) return `${total} s`;
  const s = String(total % 60).padStart(2, '0');
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/**
 * The status line of a running check (pure): `[12/40] 3.4 the largest datagram is echoed  1:05`,
 * cut to fit in `columns - 1` so that it never wraps (a wrapped line cannot be overwritten).
 */
export function renderCheckProgress(p: CheckProgress, columns = 80): string {
  const counter = `[${p.started}/${p.total}]`;
  const elapsed = formatElapsed(p.elapsedMs);
  const what = p.current ? `${p.current.id} ${escapeControls(p.current.title)}` : '';
  const room = Math.max(0, columns - 1 - counter.length - elapsed.length - 6);
  const text = what.length <= room ? what : room <= 1 ? '' : `${what.slice(0, room - 1)}…`;
  return `  ${counter}${text === '' ? '' : ` ${text}`}  ${elapsed}`.slice(0, Math.max(0, columns - 1));
}
