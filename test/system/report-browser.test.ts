import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadChartAssets } from '../../harness/reporters/html-assets.js';
import { renderIndexHtml } from '../../harness/reporters/html-report.js';
import type { LoadReportJson } from '../../harness/reporters/load-json.js';
import { nulTerminated } from '../fixtures/servers/nul-terminated.js';
import type { RunningFixture } from '../fixtures/fixture-server.js';
import { runCli } from '../helpers/cli.js';
import {
  checkReportPage,
  chromiumMissing,
  launchChromium,
  type HeadlessBrowser,
} from '../helpers/report-page.js';
import { skipBecause } from '../helpers/skip.js';

/** The repository's reports/ directory (git-ignored): screenshots are kept there for people to look at. */
const REPORTS = fileURLToPath(new URL('../../../reports', import.meta.url));

const LOAD_CHARTS = ['latency-spectrum', 'latency-over-time', 'achieved-vs-offered', 'loss-vs-rate'];

/** The path printed on the last line of a run (`report: .../index.html`). */
function lastLineReport(stdout: string): string {
  const last = stdout.trimEnd().split('\n').pop() ?? '';
  const m = /^report: (\S+index\.html)$/.exec(last);
  expect(m, `last line names index.html, got: ${last}`).to.not.equal(null);
  return m?.[1] ?? '';
}

describe('the HTML report of real runs', function () {
  this.timeout(120_000);
  let reports: string;
  let fixture: RunningFixture;
  let checkIndex: string;
  let checkIds: string[];
  let loadIndex: string;
  let browser: HeadlessBrowser | undefined;

  before(async () => {
    reports = mkdtempSync(join(tmpdir(), 'echolot-report-'));
    fixture = await nulTerminated.start();
  });
  after(async () => {
    await browser?.close();
    await fixture.close();
    rmSync(reports, { recursive: true, force: true });
  });

  it('echolot check ends by printing the path of index.html; on GitHub it annotates and writes the step summary', async () => {
    const stepSummary = join(reports, 'step-summary.md');
    writeFileSync(stepSummary, '# earlier step\n');
    const r = await runCli(
      ['check', `127.0.0.1:${fixture.port}`, '--only', '1.*,2.1,2.2,3.1', '--report-dir', reports],
      60_000,
      { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: stepSummary },
    );
    expect(r.code, r.stdout + r.stderr).to.equal(1);
    checkIndex = lastLineReport(r.stdout);
    expect(r.stdout.match(/^::error title=echolot 2\.[12] FAIL%3A .*::.+$/gm)).to.have.length(2);
    const md = readFileSync(stepSummary, 'utf8');
    expect(md).to.match(/^# earlier step\n### ❌ echolot check: /);
    expect(md).to.include('**exit code 1**: FAIL: 2.1, 2.2.');
    const summary = JSON.parse(readFileSync(join(dirname(checkIndex), 'summary.json'), 'utf8')) as {
      results: { tests: { extra: { id: string; verdict: string } }[] };
    };
    checkIds = summary.results.tests.map((t) => t.extra.id);
    expect(checkIds).to.include.members(['1.1', '2.1', '2.2', '3.1']);
    const html = readFileSync(checkIndex, 'utf8');
    expect(html).to.include('href="mochawesome.html"');
    // The console summary table: one row per section and a total.
    expect(r.stdout).to.match(/^ {2}section\s+PASS\s+FAIL\s+total$/m);
    expect(r.stdout).to.match(new RegExp(`^ {2}total\\s+\\d+\\s+\\d+\\s+${checkIds.length}$`, 'm'));
  });

  it('echolot load writes index.html, load.json and intervals.ndjson and prints index.html last', async () => {
    const r = await runCli([
      'load',
      '--duration',
      '3s',
      '--rate',
      '2k',
      '--drain',
      '300ms',
      '--threshold',
      'p99<5s',
      '--report-dir',
      reports,
    ]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    loadIndex = lastLineReport(r.stdout);
    const dir = dirname(loadIndex);
    const doc = JSON.parse(readFileSync(join(dir, 'load.json'), 'utf8')) as LoadReportJson;
    const lines = readFileSync(join(dir, 'intervals.ndjson'), 'utf8').trim().split('\n');
    expect(lines.length).to.equal(doc.intervals.length).and.to.be.at.least(2);
    expect(JSON.parse(lines[0] ?? '{}')).to.include({ type: 'interval' });
  });

  describe('in headless Chromium', function () {
    before(async () => {
      if (chromiumMissing() === undefined) browser = await launchChromium();
    });
    beforeEach(function () {
      const why = chromiumMissing();
      if (why !== undefined) skipBecause(this, why);
    });

    it('shows the verdict summary and every case of the check run, with hex diffs', async () => {
      const page = await (browser as HeadlessBrowser).context.newPage();
      try {
        const found = await checkReportPage(page, checkIndex, { cases: checkIds });
        expect(found.caseRows).to.equal(checkIds.length);
        expect(await page.textContent('.banner')).to.match(/FAILED\s+exit code 1/);
        // nul-terminated truncates at the first NUL: 2.1's evidence shows the bytes that differ.
        expect(await page.$$eval('#case-2\\.1 .hexdiff mark', (m) => m.length)).to.be.greaterThan(0);
        // The dump has labelled offsets, sent above received, and an ASCII column between bars.
        const dump = (await page.textContent('#case-2\\.1 .hexdiff pre')) ?? '';
        expect(dump).to.match(/^offset\s.*\sascii$/m);
        expect(dump).to.match(/^0 +0x0000 +sent +(?:[0-9a-f]{2} )+.*\|[ -~]*\|/m);
        expect(dump).to.match(/^\s+received +.*\|[ -~]*\|/m);
        mkdirSync(REPORTS, { recursive: true });
        await page.screenshot({ path: join(REPORTS, 'browser-check.png'), fullPage: true });
      } finally {
        await page.close();
      }
    });

    it('draws the four load charts with data', async () => {
      const page = await (browser as HeadlessBrowser).context.newPage();
      try {
        const found = await checkReportPage(page, loadIndex, { charts: LOAD_CHARTS });
        for (const id of LOAD_CHARTS) expect(found.charts[id]?.points, id).to.be.greaterThan(0);
        const doc = JSON.parse(readFileSync(join(dirname(loadIndex), 'load.json'), 'utf8')) as LoadReportJson;
        // The banner says what the run proves: INCONCLUSIVE when the generator was the bottleneck.
        expect(await page.getAttribute('.banner', 'data-outcome')).to.equal(
          doc.generator.bottleneck ? 'INCONCLUSIVE' : 'PASSED',
        );
        // A threshold's measured value carries its unit.
        expect(await page.textContent('table.thresholds td.num')).to.match(/^[\d.,]+ (us|ms|s)$/);
        await page.screenshot({ path: join(REPORTS, 'browser-load.png'), fullPage: true });
      } finally {
        await page.close();
      }
    });

    it('fails on an empty chart and on a missing case (the checker can fail)', async () => {
      const load = JSON.parse(readFileSync(join(dirname(loadIndex), 'load.json'), 'utf8')) as LoadReportJson;
      const empty = join(reports, 'empty-series.html');
      writeFileSync(empty, renderIndexHtml({ load: { ...load, intervals: [] } }, await loadChartAssets()));
      const page = await (browser as HeadlessBrowser).context.newPage();
      try {
        let failure: unknown;
        await checkReportPage(page, empty, { charts: LOAD_CHARTS }).catch((e: unknown) => (failure = e));
        expect(String(failure)).to.match(/chart latency-over-time: (empty|not drawn)/);
        expect(String(failure)).to.match(/chart loss-vs-rate: (empty|not drawn)/);
        expect(String(failure)).to.not.match(/latency-spectrum/);

        failure = undefined;
        await checkReportPage(page, checkIndex, { cases: [...checkIds, '9.9'] }).catch(
          (e: unknown) => (failure = e),
        );
        expect(String(failure)).to.match(/cases missing from the table: 9\.9/);
      } finally {
        await page.close();
      }
    });
  });
});
