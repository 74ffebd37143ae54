import { escapeControls } from '../core/escape.js';
import { caseExpectations, type Summary } from '../results/summary.js';
import type { LoadReportJson } from './load-json.js';
import { formatThresholdActual } from './load-console.js';

/** Annotations per run: GitHub shows only a few per step, and a wall of them hides the first. */
export const MAX_ANNOTATIONS = 10;

/** Escapes a workflow command's message (GitHub's toolkit rules: %, CR, LF). */
const escapeData = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/** Escapes a workflow command's property value (as escapeData, plus : and ,). */
const escapeProperty = (s: string): string => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** One `::level title=...::message` workflow command line. */
const command = (level: 'error' | 'warning' | 'notice', title: string, message: string): string =>
  `::${level} title=${escapeProperty(title)}::${escapeData(message)}\n`;

/**
 * GitHub Actions annotations for the first FAIL and ERROR cases (at most `max`): `::error` for the
 * ones that decide the exit code, `::warning` for those the expectations file expects, and one
 * `::notice` counting the rest.
 */
export function renderCheckAnnotations(summary: Summary, max = MAX_ANNOTATIONS): string {
  const byId = new Map(caseExpectations(summary).map((e) => [e.id, e]));
  const bad = summary.cases.filter((c) => c.verdict === 'FAIL' || c.verdict === 'ERROR');
  let out = '';
  for (const c of bad.slice(0, max)) {
    const expected = byId.get(c.id)?.unexpected === false;
    const bug = byId.get(c.id)?.bug;
    // Text from the result loses its control characters and line breaks (escapeControls): only this
    // renderer's own line breaks remain, and a workflow command starts only where it starts one.
    const title = escapeControls(c.title);
    const message = escapeControls(c.message);
    const requirement = escapeControls(`${c.klass}: ${c.requirement} (${c.source})`);
    out += command(
      expected ? 'warning' : 'error',
      `echolot ${c.id} ${c.verdict}${expected ? ' (expected)' : ''}: ${title}`,
      `${message}\n${requirement}${bug ? `\nbug: ${escapeControls(bug)}` : ''}`,
    );
  }
  if (bad.length > max) {
    out += command(
      'notice',
      'echolot: more failures',
      `${bad.length - max} more FAIL/ERROR cases are not annotated; see the report of run ${summary.run.runId}`,
    );
  }
  return out;
}

/** The GitHub Actions annotation of a command that did not start: its target did not answer the preflight. */
export function renderNotStartedAnnotation(name: string, diagnosis: string): string {
  return command(
    'error',
    `echolot ${name}: the target did not answer the preflight`,
    escapeControls(diagnosis),
  );
}

/** GitHub Actions annotations for the breached thresholds of a load run (at most `max`). */
export function renderLoadAnnotations(report: LoadReportJson, max = MAX_ANNOTATIONS): string {
  return report.thresholds
    .filter((t) => !t.ok)
    .slice(0, max)
    .map((t) =>
      command(
        'error',
        `echolot load: threshold ${t.threshold} breached`,
        `actual ${formatThresholdActual(t.kind, t.actual)} (run ${report.runId})`,
      ),
    )
    .join('');
}
