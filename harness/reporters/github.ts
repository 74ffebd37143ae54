import { caseExpectations, type Summary } from '../results/summary.js';
import type { LoadReportJson } from './load-json.js';

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
    out += command(
      expected ? 'warning' : 'error',
      `echolot ${c.id} ${c.verdict}${expected ? ' (expected)' : ''}: ${c.title}`,
      `${c.message}\n${c.klass}: ${c.requirement} (${c.source})${bug ? `\nbug: ${bug}` : ''}`,
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

/** GitHub Actions annotations for the breached thresholds of a load run (at most `max`). */
export function renderLoadAnnotations(report: LoadReportJson, max = MAX_ANNOTATIONS): string {
  return report.thresholds
    .filter((t) => !t.ok)
    .slice(0, max)
    .map((t) =>
      command(
        'error',
        `echolot load: threshold ${t.threshold} breached`,
        `actual ${t.actual === null ? 'nothing measured' : Math.round(t.actual * 1000) / 1000} (run ${report.runId})`,
      ),
    )
    .join('');
}
