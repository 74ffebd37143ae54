import { expect } from 'chai';
import { colorEnabled } from '../../harness/cli/terminal.js';
import type { IntervalStats, LoadResult } from '../../harness/load/types.js';
import { renderSummary, renderSummaryTable } from '../../harness/reporters/console.js';
import {
  MAX_ANNOTATIONS,
  renderCheckAnnotations,
  renderLoadAnnotations,
} from '../../harness/reporters/github.js';
import { loadChartAssets, type ChartAssets } from '../../harness/reporters/html-assets.js';
import { intervalRates, loadCharts } from '../../harness/reporters/html-charts.js';
import {
  renderIndexHtml,
  type LoadReportInput,
  type MatrixSection,
} from '../../harness/reporters/html-report.js';
import { renderCheckMarkdown, renderLoadMarkdown } from '../../harness/reporters/markdown.js';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import type { CaseResult } from '../../harness/results/case-result.js';
import { comparePayloads } from '../../harness/results/evidence.js';
import { summarize, type RunInfo, type Summary } from '../../harness/results/summary.js';
import type { Verdict } from '../../harness/results/verdict.js';
import { sampleCounters, sampleLatency, sampleOptions } from '../helpers/load-sample.js';
import { sampleResult, sampleRun } from '../helpers/check-sample.js';

const run: RunInfo = sampleRun();

const result = (
  id: string,
  verdict: Verdict,
  message: string,
  evidence: Record<string, unknown> = {},
): CaseResult => sampleResult(id, verdict, message, evidence, { attempts: 1 });

const sent = Buffer.from('hello\u0000world, the rest of a probe payload', 'latin1');
const truncated = sent.subarray(0, 5);

/** Every catalogue case: 2.1 FAILs with a hex diff and a message that tries to inject markup. */
function checkSummary(failures = 1): Summary {
  const results = CATALOGUE.map((c, i) =>
    i < failures
      ? result(c.id, 'FAIL', `truncated <script>alert(1)</script> | pipe`, {
          exchange: { comparison: comparePayloads(sent, truncated) },
        })
      : c.id === '2.1'
        ? result(c.id, 'FAIL', 'truncated at the first NUL', {
            exchange: { comparison: comparePayloads(sent, truncated) },
          })
        : result(c.id, c.klass === 'INFO' ? 'INFO' : 'PASS', 'ok'),
  );
  return summarize(run, CATALOGUE, results);
}

const interval = (atMs: number, sent: number, lost: number): IntervalStats => ({
  atMs,
  sent,
  received: sent - lost,
  lost,
  echoRate: sent - lost,
  p50Us: 70,
  p99Us: 250,
  maxUs: 1200,
});

function loadReport(extra: Partial<LoadReportInput> = {}): LoadReportInput {
  const base: LoadResult = {
    runId: 'abcdef0123456789',
    target: { input: '', address: '127.0.0.1', port: 40_000, embedded: true },
    mode: 'rate',
    options: sampleOptions({ durationMs: 3000, rate: 1000 }),
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 3000,
    counters: sampleCounters({ sent: 3000, received: 2990, unique: 2990, lost: 10 }),
    perFlow: [],
    rates: { offered: 1000, echoes: 996.7, sent: 1000 },
    response: sampleLatency(100),
    service: sampleLatency(70),
    sendLag: sampleLatency(5),
    jitterUs: 12,
    intervals: [interval(0, 1000, 0), interval(1000, 1000, 10), interval(2000, 1000, 0)],
    generator: { socketDrops: 0, rcvbufErrors: 0, sndbufErrors: 0, bottleneck: false, reasons: [] },
    lossAttribution: { generator: 0, networkOrServer: 10 },
    ioPath: 'node:dgram',
  };
  return { ...base, io: 'dgram', thresholds: [], passed: true, ...extra };
}

describe('the HTML report', () => {
  let assets: ChartAssets;
  before(async () => {
    assets = await loadChartAssets();
  });

  it('inlines uPlot from node_modules and forbids every fetch', () => {
    expect(assets.name).to.equal('uPlot');
    expect(assets.license).to.equal('MIT');
    expect(assets.script).to.include('uPlot');
    const html = renderIndexHtml({ check: checkSummary() }, assets);
    expect(html).to.include(assets.script.slice(0, 200));
    expect(html).to.include(`default-src 'none'`);
    // Nothing the browser would load: no src attribute, no stylesheet link, no url() to a remote.
    expect(html).to.not.match(/<(script|img|iframe)[^>]*\ssrc=/i);
    expect(html).to.not.match(/<link[^>]*rel=["']?stylesheet/i);
    expect(html).to.not.match(/url\(\s*["']?https?:/i);
  });

  it('lists every case once, with its verdict, and escapes what the target sent', () => {
    const summary = checkSummary();
    const html = renderIndexHtml({ check: summary }, assets);
    const ids = [
      ...html.matchAll(
        /<tr class="case [^"]*" id="case-[^"]+" data-case-id="([^"]+)" data-verdict="([^"]+)"/g,
      ),
    ];
    expect(ids.map((m) => m[1])).to.deep.equal(CATALOGUE.map((c) => c.id));
    expect(ids.filter((m) => m[2] === 'FAIL')).to.have.length(2);
    expect(html).to.not.include('<script>alert(1)</script>');
    expect(html).to.include('truncated &#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).to.match(/<span class="big">FAILED<\/span> exit code 1: FAIL: 1\.1, 2\.1/);
  });

  it('marks the bytes that differ in the hex diff of a failed comparison', () => {
    const html = renderIndexHtml({ check: checkSummary() }, assets);
    const row = /<tr class="case v-fail" id="case-2\.1"[\s\S]*?<\/tr>/.exec(html)?.[0] ?? '';
    expect(row).to.include('class="hexdiff"');
    expect(row).to.include('exchange.comparison: truncated to 5 bytes (sent 40)');
    // Rows of 16 bytes with labelled offsets and an ASCII column; sent bytes beyond the 5 received
    // are marked, the common prefix is not; the NUL is a '.' in the ASCII column.
    expect(row).to.match(/<span class="hex-label">offset {3}[ ]+\+0 \+1 .* \+f {2}ascii<\/span>/);
    expect(row).to.match(
      /\n0 0x0000 {3}sent {6}68 65 6c 6c 6f <mark>00<\/mark> <mark>77<\/mark> .* {2}\|hello<mark>\.<\/mark><mark>w<\/mark>/,
    );
    expect(row).to.match(/\n {11}received {2}68 65 6c 6c 6f {35}\|hello {11}\|\n/);
    expect(row).to.match(/\n16 0x0010 {2}sent {6}.*\| \.\.\.\n/);
    expect(row).to.include('<details class="evidence" open>');
  });

  it('shows the per-client findings of a case without a byte comparison as a table, not raw JSON', () => {
    const evidence = {
      clients: 64,
      distinctPorts: 64,
      problems: [
        'client port 40001: no reply within 1000 ms after 3 attempts',
        "client 3 (port 40002): got someone else's data ('<b>\\x1b')",
      ],
      problemCount: 25,
    };
    const results = CATALOGUE.map((c) =>
      c.id === '4.5'
        ? result(c.id, 'FAIL', '25 of 64 clients did not get their own reply', evidence)
        : result(c.id, 'PASS', 'ok'),
    );
    const html = renderIndexHtml({ check: summarize(run, CATALOGUE, results) }, assets);
    const row = /<tr class="case v-fail" id="case-4\.5"[\s\S]*?<\/tr>\n<tr class="case/.exec(html)?.[0] ?? '';
    expect(row).to.include('<details class="evidence" open><summary>evidence, 25 findings</summary>');
    expect(row).to.include('findings (the first 2 of 25)');
    expect(row).to.include('<tr><th>clients</th><td class="num">64</td></tr>');
    expect(row).to.include(
      '<tr><td class="num">1</td><td class="id">client port 40001</td><td>no reply within 1000 ms after 3 attempts</td></tr>',
    );
    expect(row).to.include(
      '<td class="id">client 3 (port 40002)</td><td>got someone else&#39;s data (&#39;&#60;b&#62;\\x1b&#39;)</td>',
    );
    expect(row).to.not.include('class="hexdiff"');
  });

  it('links the other files of the run and keeps hostile links out', () => {
    const html = renderIndexHtml(
      {
        check: checkSummary(),
        links: [
          { label: 'mochawesome report', href: 'mochawesome.html' },
          { label: 'evil', href: 'javascript:alert(1)' },
        ],
      },
      assets,
    );
    expect(html).to.include('<a href="mochawesome.html">mochawesome report</a>');
    expect(html).to.not.include('javascript:alert');
  });

  it('renders a matrix: case rows, server columns, verdict cells with links', () => {
    const matrix: MatrixSection = {
      columns: [
        { id: 'ref', label: 'reference', href: 'ref/index.html' },
        { id: 'busybox', label: 'busybox udpsvd' },
      ],
      rows: [
        {
          id: '1.1',
          title: 'one datagram',
          cells: {
            ref: { verdict: 'PASS', href: 'ref/index.html#case-1.1' },
            busybox: { verdict: 'PASS', href: 'busybox/index.html#case-1.1' },
          },
        },
        {
          id: '3.2',
          cells: { ref: { verdict: 'PASS' }, busybox: { verdict: 'FAIL', message: 'truncated' } },
        },
        { id: '4.3', cells: { ref: { verdict: 'INFO' } } },
      ],
    };
    const html = renderIndexHtml({ matrix }, assets);
    expect(html).to.include('Matrix: 3 cases × 2 servers');
    expect(
      [...html.matchAll(/<tr class="matrix-row" data-case-id="([^"]+)"/g)].map((m) => m[1]),
    ).to.deep.equal(['1.1', '3.2', '4.3']);
    expect(html).to.include(
      '<td class="cell v-pass" data-verdict="PASS"><a href="busybox/index.html#case-1.1">PASS</a></td>',
    );
    expect(html).to.include('<td class="cell v-fail" data-verdict="FAIL" title="truncated">FAIL</td>');
    expect(html).to.include('<td class="not-run muted">not run</td>');
    expect(html).to.include('<a href="ref/index.html">reference</a>');
  });

  it('builds the four load charts from the interval series, and the trials of a search when present', () => {
    const report = loadReport();
    const charts = loadCharts(report);
    expect(charts.map((c) => c.id)).to.deep.equal([
      'latency-spectrum',
      'latency-over-time',
      'achieved-vs-offered',
      'loss-vs-rate',
    ]);
    const [spectrum, overTime, rate, loss] = charts;
    expect(spectrum?.x.log).to.equal(true);
    expect(spectrum?.points).to.equal(14);
    expect(overTime?.points).to.equal(9);
    // Each interval at its end: the series and the axis reach the end of the 3 s run.
    expect(overTime?.data[0]).to.deep.equal([1, 2, 3]);
    expect(overTime?.x).to.include({ min: 0, max: 3 });
    expect(rate?.points).to.equal(3);
    expect(loss?.points).to.equal(3);
    // The loss chart's x-axis runs from 0 to (just past) the offered rate, like the rate chart's.
    expect(loss?.x.min).to.equal(0);
    expect(loss?.x.max).to.be.at.least(1000).and.at.most(1100);
    expect(loss?.x.max).to.equal(rate?.x.max);
    // The spectrum has a tick at p50 (x = 2), and its two series differ in colour and dash.
    expect(spectrum?.x.splits).to.include(2);
    const [response, service] = spectrum?.series ?? [];
    expect(response?.color).to.not.equal(service?.color);
    expect(response?.dash).to.equal(undefined);
    expect(service?.dash).to.have.length(2);
    expect(intervalRates(report)[1]).to.deep.equal({ offered: 1000, achieved: 990, lossPercent: 1 });

    const searched = loadCharts(
      loadReport({
        trials: [
          { offered: 5000, achieved: 5000, lossPercent: 0 },
          { offered: 20_000, achieved: 15_000, lossPercent: 25, p99Us: 900 },
        ],
      }),
    );
    expect(searched[2]?.points).to.equal(5);
    expect(searched[3]?.points).to.equal(5);
    // Aligned columns: x sorted, each point in exactly one series.
    const xs = searched[3]?.data[0] ?? [];
    expect([...xs]).to.deep.equal([...xs].sort((a, b) => (a ?? 0) - (b ?? 0)));
    expect(searched[3]?.data[2]?.filter((v) => v !== null)).to.deep.equal([0, 25]);

    const html = renderIndexHtml(
      { load: loadReport({ trials: [{ offered: 5000, achieved: 5000, lossPercent: 0 }] }) },
      assets,
    );
    expect((html.match(/<figure class="chart"/g) ?? []).length).to.equal(4);
    expect(html).to.include('Search trials');
    expect(html).to.not.include('no data');
  });

  it('shows threshold values with their unit and says INCONCLUSIVE when the generator was the bottleneck', () => {
    const thresholds = [
      {
        threshold: 'p99<2ms',
        metric: 'p99',
        kind: 'latency' as const,
        limit: 2000,
        actual: 45215,
        ok: false,
      },
      { threshold: 'loss<=0', metric: 'loss', kind: 'count' as const, limit: 0, actual: 10, ok: false },
    ];
    const failed = renderIndexHtml({ load: loadReport({ thresholds, passed: false }) }, assets);
    expect(failed).to.match(/<td><code>p99&#60;2ms<\/code><\/td><td class="num">45\.2 ms<\/td>/);
    expect(failed).to.match(/<td class="num">10 datagrams<\/td>/);
    expect(failed).to.match(
      /class="banner bad" data-outcome="FAILED"><span class="big">FAILED<\/span> 0 of 2 thresholds hold</,
    );
    const bottleneck = {
      socketDrops: 120,
      rcvbufErrors: 0,
      sndbufErrors: 0,
      bottleneck: true,
      reasons: ['drops'],
    };
    const held = renderIndexHtml(
      {
        load: loadReport({ thresholds: [{ ...thresholds[1]!, actual: 0, ok: true }], generator: bottleneck }),
      },
      assets,
    );
    expect(held).to.include('data-outcome="INCONCLUSIVE"');
    expect(held).to.not.match(/<span class="big">PASSED/);
    expect(held).to.include('1 of 1 threshold hold; the generator was the bottleneck');
    expect(renderIndexHtml({ load: loadReport() }, assets)).to.match(
      /data-outcome="PASSED"><span class="big">PASSED<\/span> no thresholds given</,
    );
    expect(renderLoadMarkdown(loadReport({ generator: bottleneck }))).to.match(
      /^### ⚠️ echolot load: .*\(INCONCLUSIVE\)$/m,
    );
  });

  it('renders a run of the load gates: one row per gate with its verdict and measured thresholds', () => {
    const html = renderIndexHtml(
      {
        suite: {
          runId: 'r1',
          target: { input: '', address: '127.0.0.1', port: 7, embedded: true },
          exitCode: 70,
          startedAt: '2026-01-01T00:00:00.000Z',
          durationMs: 4000,
          gates: [
            {
              title: 'ok gate',
              file: 'load/1-a.ts',
              passed: true,
              durationMs: 1000,
              thresholds: [{ threshold: 'loss<=0', kind: 'count', actual: 0, ok: true }],
            },
            {
              title: 'slow gate',
              file: 'load/1-a.ts',
              passed: false,
              durationMs: 1000,
              thresholds: [{ threshold: 'p99<1ms', kind: 'latency', actual: 2500, ok: false }],
            },
            {
              title: 'broken <gate>',
              file: 'load/2-b.ts',
              passed: false,
              durationMs: 5,
              error: 'spawn failed\u001b[2J',
              thresholds: [],
            },
          ],
        },
      },
      assets,
    );
    expect(html).to.include('<body data-kind="load gates">');
    expect(html).to.match(
      /data-outcome="FAILED"><span class="big">FAILED<\/span> exit code 70: 1 of 3 gates passed/,
    );
    expect((html.match(/<tr class="gate /g) ?? []).map(() => 1)).to.have.length(3);
    expect(html).to.match(/data-verdict="PASS">.*0 datagrams/);
    expect(html).to.match(/data-verdict="FAIL">.*<code>p99&#60;1ms<\/code><\/td><td class="num">2\.50 ms</);
    expect(html).to.include('broken &#60;gate&#62;').and.to.include('spawn failed\\x1b[2J');
    expect(html).to.not.include('\u001b');
    const notStarted = renderIndexHtml(
      {
        suite: {
          runId: 'r2',
          target: { input: '127.0.0.1:9', address: '127.0.0.1', port: 9, embedded: false },
          exitCode: 69,
          startedAt: '2026-01-01T00:00:00.000Z',
          durationMs: 1000,
          gates: [],
          notStarted: { stage: 'preflight', diagnosis: 'no reply from 127.0.0.1:9' },
        },
      },
      assets,
    );
    expect(notStarted).to.include(
      'exit code 69: no gate ran, the preflight failed: no reply from 127.0.0.1:9',
    );
  });

  it('says so when a load run has no interval data', () => {
    const charts = loadCharts(loadReport({ intervals: [] }));
    expect(charts.map((c) => [c.id, c.points])).to.deep.equal([
      ['latency-spectrum', 14],
      ['latency-over-time', 0],
      ['achieved-vs-offered', 0],
      ['loss-vs-rate', 0],
    ]);
    const html = renderIndexHtml({ load: loadReport({ intervals: [] }) }, assets);
    expect((html.match(/<p class="empty">no data<\/p>/g) ?? []).length).to.equal(3);
  });
});

describe('CI outputs', () => {
  it('writes a Markdown step summary with counts and the cases that need attention, cells escaped', () => {
    const md = renderCheckMarkdown(checkSummary(), 'reports/x/index.html');
    expect(md).to.match(/^### ❌ echolot check: 127\.0\.0\.1:9007/);
    expect(md).to.include('**exit code 1**: FAIL: 1.1, 2.1.');
    expect(md).to.include('| FAIL | 2 |');
    expect(md).to.include('\\<script\\>alert(1)\\</script\\> \\| pipe');
    expect(md).to.include('Report: `reports/x/index.html`');
    expect(md.split('\n').filter((l) => l.startsWith('| 1.1 '))).to.have.length(1);
    const load = renderLoadMarkdown(
      loadReport({
        thresholds: [
          { threshold: 'p99<2ms', metric: 'p99', kind: 'latency', limit: 2000, actual: 45215, ok: false },
          { threshold: 'loss<=0', metric: 'loss', kind: 'count', limit: 0, actual: 10, ok: false },
          { threshold: 'loss<1%', metric: 'loss', kind: 'ratio', limit: 1, actual: 0.25, ok: true },
          { threshold: 'rate>1k', metric: 'rate', kind: 'rate', limit: 1000, actual: 2500.4, ok: true },
        ],
        passed: false,
      }),
    );
    expect(load).to.match(/^### ❌ echolot load/);
    expect(load).to.include('| `p99<2ms` | 45.2 ms | **breached** |');
    expect(load).to.include('| `loss<=0` | 10 datagrams | **breached** |');
    expect(load).to.include('| `loss<1%` | 0.25% | ok |');
    expect(load).to.include('| `rate>1k` | 2,500/s | ok |');
  });

  it('annotates at most 10 FAIL/ERROR cases, escaped, and counts the rest', () => {
    const out = renderCheckAnnotations(checkSummary(14));
    const lines = out.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('::error '))).to.have.length(MAX_ANNOTATIONS);
    expect(lines.at(-1)).to.match(/^::notice title=echolot%3A more failures::4 more FAIL\/ERROR cases/);
    expect(lines[0]).to.match(/^::error title=echolot 1\.1 FAIL%3A [^:]*::truncated <script>/);
    // A newline in the message must not end the command.
    expect(lines[0]).to.include('%0AMUST: ');
    expect(
      renderCheckAnnotations(summarize(run, CATALOGUE.slice(0, 1), [result('1.1', 'PASS', 'ok')])),
    ).to.equal('');
    const load = renderLoadAnnotations(
      loadReport({
        thresholds: [
          { threshold: 'loss<=0', metric: 'loss', kind: 'count', limit: 0, actual: 10, ok: false },
          { threshold: 'p99<2ms', metric: 'p99', kind: 'latency', limit: 2000, actual: 45215, ok: false },
          { threshold: 'p50<2ms', metric: 'p50', kind: 'latency', limit: 2000, actual: null, ok: false },
        ],
      }),
    );
    expect(load).to.equal(
      '::error title=echolot load%3A threshold loss<=0 breached::actual 10 datagrams (run abcdef0123456789)\n' +
        '::error title=echolot load%3A threshold p99<2ms breached::actual 45.2 ms (run abcdef0123456789)\n' +
        '::error title=echolot load%3A threshold p50<2ms breached::actual no replies (run abcdef0123456789)\n',
    );
  });

  it('colours only a TTY, never with NO_COLOR, always with FORCE_COLOR', () => {
    expect(colorEnabled({ isTTY: true }, {})).to.equal(true);
    expect(colorEnabled({ isTTY: false }, {})).to.equal(false);
    expect(colorEnabled({}, {})).to.equal(false);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '1' })).to.equal(false);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '' })).to.equal(true);
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).to.equal(true);
    expect(colorEnabled({ isTTY: true }, { FORCE_COLOR: '0' })).to.equal(true);
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: '1', NO_COLOR: '1' })).to.equal(false);
  });

  it('prints a summary table by section and verdict, aligned with and without colour', () => {
    const summary = checkSummary();
    const plain = renderSummaryTable(summary, { color: false });
    const lines = plain.trimEnd().split('\n');
    expect(lines[0]).to.match(/^ {2}section\s+PASS\s+INFO\s+FAIL\s+total$/);
    expect(lines.at(-1)).to.match(new RegExp(`^ {2}total\\s+\\d+\\s+\\d+\\s+2\\s+${CATALOGUE.length}$`));
    expect(plain).to.not.include('\u001b[');
    const coloured = renderSummaryTable(summary, { color: true });
    expect(coloured).to.include('\u001b[31m');
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\u001b\[\d+m/g, '')).to.equal(plain);
    expect(renderSummary(summary, { color: false })).to.include(plain.trimEnd());
  });
});
