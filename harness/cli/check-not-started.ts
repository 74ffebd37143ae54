import { join } from 'node:path';
import { notStartedCheck } from '../check/not-started.js';
import type { CheckOptions } from '../conformance/options.js';
import { notStartedReport } from '../report/check.js';
import { writeReport } from '../report/write.js';
import { renderCheckAnnotations } from '../reporters/github.js';
import { renderCheckMarkdown } from '../reporters/markdown.js';
import { renderSummaryJson } from '../reporters/summary-json.js';
import { appendStepSummary, displayPath, inGithubActions } from './terminal.js';

/** Where and how `echolot check` reports. */
export interface NotStartedOutput {
  readonly input: CheckOptions;
  readonly reportDir: string;
  /** When the check began. */
  readonly startedAt: Date;
  /** --json: summary.json goes to stdout, everything else to stderr. */
  readonly json: boolean;
  /** Writes human output (stdout, or stderr with --json). */
  readonly out: (s: string) => void;
}

/**
 * A check whose target did not answer the preflight: prints the one-line diagnosis, writes
 * summary.json, junit.xml and index.html (one failing "preflight" test, the selected cases NOT-RUN),
 * the GitHub annotation and step summary, and returns the exit code (69). Rethrows any other error.
 */
export async function reportNotStarted(err: unknown, o: NotStartedOutput): Promise<number> {
  const summary = notStartedCheck(o.input, err, o.startedAt);
  if (summary === undefined) throw err;
  const diagnosis = summary.run.notStarted?.diagnosis ?? '';
  process.stderr.write(`echolot: ${diagnosis}\n`);
  const written = await writeReport(o.reportDir, await notStartedReport(summary));
  const path = (name: string): string => displayPath(written.paths[name] ?? join(written.dir, name));
  o.out(`reports: ${path('summary.json')}\n         ${path('junit.xml')}\n`);
  if (inGithubActions()) o.out(renderCheckAnnotations(summary));
  await appendStepSummary(renderCheckMarkdown(summary, path('index.html')));
  o.out(`report: ${path('index.html')}\n`);
  if (o.json) process.stdout.write(renderSummaryJson(summary));
  return summary.exitCode;
}
