/**
 * The files of a load run or a rate search: load.json (the result, or the search with every trial)
 * and, when there is a measured run to show, intervals.ndjson and index.html with its charts; a load
 * run (not a search) also junit.xml and summary.json (CTRF), its thresholds as tests.
 */
import type { IntervalStats } from '../load/types.js';
import { renderIntervalLine } from '../reporters/load-json.js';
import { loadChartAssets } from '../reporters/html-assets.js';
import { renderIndexHtml, type LoadReportInput } from '../reporters/html-report.js';
import { renderLoadRunJunit, renderLoadRunSummary } from '../reporters/load-run-tests.js';
import type { Report, ReportFile } from './write.js';

/** The measured run a page shows: its report and its intervals. */
export interface LoadPage {
  readonly load: LoadReportInput;
  readonly intervals: readonly IntervalStats[];
  /**
   * Whether the run's thresholds go into junit.xml and summary.json (default true). A search's page
   * shows its final trial, whose thresholds are not the search's verdict: it writes neither.
   */
  readonly tests?: boolean;
}

/**
 * What `echolot load` (and `echolot merge`) writes for a run: `json` as load.json, and the page when
 * there is a run to show, with junit.xml and summary.json unless `page.tests` is false.
 */
export async function loadRunReport(runId: string, json: string, page?: LoadPage): Promise<Report> {
  const files: ReportFile[] = [{ name: 'load.json', content: json }];
  if (page !== undefined) {
    files.push({ name: 'intervals.ndjson', content: page.intervals.map(renderIntervalLine).join('') });
    const tests = page.tests !== false;
    if (tests) {
      files.push(
        { name: 'summary.json', content: renderLoadRunSummary(page.load) },
        { name: 'junit.xml', content: renderLoadRunJunit(page.load) },
      );
    }
    const links = [
      { label: 'load.json', href: 'load.json' },
      { label: 'intervals.ndjson', href: 'intervals.ndjson' },
      ...(tests
        ? [
            { label: 'summary.json (CTRF)', href: 'summary.json' },
            { label: 'junit.xml', href: 'junit.xml' },
          ]
        : []),
    ];
    files.push({
      name: 'index.html',
      content: renderIndexHtml({ load: page.load, links }, await loadChartAssets()),
    });
  }
  return { runId, files };
}
