/** The files of a conformance check: index.html, summary.json (CTRF), junit.xml and mochawesome's report (a check that did not start: the first three). */
import type { CheckRun } from '../check/run-check.js';
import type { Summary } from '../results/summary.js';
import { loadChartAssets } from '../reporters/html-assets.js';
import { renderIndexHtml } from '../reporters/html-report.js';
import { renderJunit } from '../reporters/junit.js';
import { renderSummaryJson } from '../reporters/summary-json.js';
import type { Report } from './write.js';

/** What `echolot check` writes for a run. */
export async function checkReport(run: CheckRun): Promise<Report> {
  const index = renderIndexHtml(
    {
      check: run.summary,
      links: [
        { label: 'mochawesome report', href: 'mochawesome.html' },
        { label: 'summary.json (CTRF)', href: 'summary.json' },
        { label: 'junit.xml', href: 'junit.xml' },
      ],
    },
    await loadChartAssets(),
  );
  return {
    runId: run.summary.run.runId,
    files: [
      { name: 'summary.json', content: renderSummaryJson(run.summary) },
      { name: 'junit.xml', content: renderJunit(run.summary) },
      { name: 'index.html', content: index },
    ],
    mochawesome: {
      doc: run.mochawesome,
      title: `echolot check ${run.summary.run.runId}`,
      pageTitle: 'echolot conformance',
    },
  };
}

/**
 * What `echolot check` writes for a run that did not start (the target did not answer the preflight,
 * harness/check/not-started.ts): summary.json, junit.xml and index.html; no mochawesome report, as
 * mocha never ran.
 */
export async function notStartedReport(summary: Summary): Promise<Report> {
  const index = renderIndexHtml(
    {
      check: summary,
      links: [
        { label: 'summary.json (CTRF)', href: 'summary.json' },
        { label: 'junit.xml', href: 'junit.xml' },
      ],
    },
    await loadChartAssets(),
  );
  return {
    runId: summary.run.runId,
    files: [
      { name: 'summary.json', content: renderSummaryJson(summary) },
      { name: 'junit.xml', content: renderJunit(summary) },
      { name: 'index.html', content: index },
    ],
  };
}
