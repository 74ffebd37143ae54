/** The files of a load-gate suite run: index.html, summary.json (CTRF), junit.xml and mochawesome's report (when mocha ran). */
import type { LoadSuiteRun } from '../runner/load-suite-run.js';
import { loadChartAssets } from '../reporters/html-assets.js';
import { renderIndexHtml } from '../reporters/html-report.js';
import { renderLoadSuiteJunit, renderLoadSuiteSummary } from '../reporters/load-suite.js';
import type { Report } from './write.js';

/** What `echolot load --suite` writes for a run. */
export async function loadSuiteReport(run: LoadSuiteRun): Promise<Report> {
  const { mochawesome, ...suite } = run;
  const withMocha = mochawesome !== undefined;
  const index = renderIndexHtml(
    {
      suite,
      links: [
        ...(withMocha ? [{ label: 'mochawesome report', href: 'mochawesome.html' }] : []),
        { label: 'summary.json (CTRF)', href: 'summary.json' },
        { label: 'junit.xml', href: 'junit.xml' },
      ],
    },
    await loadChartAssets(),
  );
  return {
    runId: run.runId,
    files: [
      { name: 'summary.json', content: renderLoadSuiteSummary(run) },
      { name: 'junit.xml', content: renderLoadSuiteJunit(run) },
      { name: 'index.html', content: index },
    ],
    ...(!withMocha
      ? {}
      : {
          mochawesome: {
            doc: mochawesome,
            title: `echolot load --suite ${run.runId}`,
            pageTitle: 'echolot load gates',
          },
        }),
  };
}
