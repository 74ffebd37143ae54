import type { LatencySummary } from '../load/types.js';
import { gateProblem, gateStatus, type GateStatus } from '../load/gate-status.js';
import type { LoadSuiteRun } from '../runner/load-suite-run.js';
import type { CaseResult } from '../results/case-result.js';
import { caseExpectations, type Summary } from '../results/summary.js';
import { VERDICTS, type Verdict } from '../results/verdict.js';
import { exitReason } from './console.js';
import type { ChartAssets } from './html-assets.js';
import { loadCharts, type ChartSpec, type LoadTrial } from './html-charts.js';
import type { LoadReportJson } from './load-json.js';
import type { ShardsSection } from '../load/merge.js';
import { renderShardsHtml } from './load-shards.js';
import {
  formatLatency,
  formatThresholdActual,
  LATENCY_COLUMNS,
  loadOutcome,
  loadOutcomeReason,
} from './load-console.js';
import { formatEndpoint } from '../core/address.js';
import { hexComparisons, renderDumpLines, type HexComparison } from './hex-dump.js';
import { escapeControls } from '../core/escape.js';

/** A link shown in the report's header (other files of the same run: relative paths). */
export interface ReportLink {
  readonly label: string;
  readonly href: string;
}

/** One cell of a matrix: the verdict of one case against one server, and where its evidence is. */
export interface MatrixCell {
  readonly verdict: Verdict;
  /** Usually the server's own report, e.g. `server-a/index.html#case-3.1`. */
  readonly href?: string;
  readonly message?: string;
}

/** A matrix run: rows are case IDs, columns are servers, each cell a verdict with a link. */
export interface MatrixSection {
  readonly columns: readonly { readonly id: string; readonly label?: string; readonly href?: string }[];
  readonly rows: readonly {
    readonly id: string;
    readonly title?: string;
    /** By column id; a missing cell is shown as not run. */
    readonly cells: Readonly<Record<string, MatrixCell>>;
  }[];
}

/** A load report, optionally with the trials of a search. */
export type LoadReportInput = LoadReportJson & {
  readonly trials?: readonly LoadTrial[];
  /** A merged distributed run (`echolot merge`): its shards. */
  readonly shards?: ShardsSection;
};

/** What one index.html shows: a check, a load run, the load gates, a matrix, or several of them. */
export interface HtmlReportInput {
  readonly check?: Summary;
  readonly load?: LoadReportInput;
  /** A run of the load gates (`echolot load --suite`). */
  readonly suite?: Omit<LoadSuiteRun, 'mochawesome'>;
  readonly matrix?: MatrixSection;
  /** The run's other files (mochawesome.html, summary.json, junit.xml, load.json ...). */
  readonly links?: readonly ReportLink[];
}

/** Longest evidence JSON shown for one case; the full evidence is in summary.json. */
const MAX_EVIDENCE_CHARS = 64 * 1024;
/** Hex comparisons shown per case. */
const MAX_HEX_DIFFS = 8;

/** Text for the page: markup escaped, control characters but line breaks as `\xNN` (escapeControls). */
const esc = (s: string): string =>
  escapeControls(s, { keepLineBreaks: true }).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON that is safe inside a <script> element (no `</script>`, no line separators). */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/** Only relative links and http(s): a report must not carry `javascript:` or other schemes. */
const safeHref = (href: string): string | undefined =>
  /^[a-z][a-z0-9+.-]*:/i.test(href) && !/^https?:/i.test(href) ? undefined : href;

const link = (href: string | undefined, text: string): string => {
  const h = href === undefined ? undefined : safeHref(href);
  return h === undefined ? esc(text) : `<a href="${esc(h)}">${esc(text)}</a>`;
};

const verdictClass = (v: string): string => `v-${v.toLowerCase()}`;
const badge = (v: Verdict): string => `<span class="verdict ${verdictClass(v)}">${esc(v)}</span>`;
const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const plural = (n: number, word: string): string => `${count(n)} ${word}${n === 1 ? '' : 's'}`;

/** Sent and received bytes in rows of 16 with their offsets and an ASCII column, every byte that differs marked. */
function renderHexDiff(c: HexComparison): string {
  const lines = renderDumpLines(c, { text: esc, mark: (s) => `<mark>${s}</mark>` });
  const [head, ...rows] = lines;
  return `<div class="hexdiff"><div class="hexdiff-title">${esc(c.path)}${c.summary ? `: ${esc(c.summary)}` : ''}</div><pre><span class="hex-label">${esc(head ?? '')}</span>
${rows.join('\n')}</pre></div>`;
}

/** A finding that names its client: `client port 40001: ...` or `client 3 (port 40001): ...`. */
const CLIENT_FINDING = /^(client [^:]{1,40}?):\s+([\s\S]*)$/;

/**
 * Per-client findings of a case without a byte comparison (4.5, 6.x: `problems`, a list of
 * strings, and scalar facts such as `clients` and `problemCount`), as two tables: the facts, and one
 * row per finding with the client it names. Empty when the evidence has no such list.
 */
function renderFindings(evidence: unknown): { html: string; count: number } {
  if (evidence === null || typeof evidence !== 'object') return { html: '', count: 0 };
  const e = evidence as Record<string, unknown>;
  const problems = Array.isArray(e['problems'])
    ? e['problems'].filter((p): p is string => typeof p === 'string')
    : [];
  if (problems.length === 0) return { html: '', count: 0 };
  const facts = Object.entries(e).filter(
    ([k, v]) =>
      k !== 'problems' && (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean'),
  );
  const total = typeof e['problemCount'] === 'number' ? e['problemCount'] : problems.length;
  const parsed = problems.map((p) => {
    const m = CLIENT_FINDING.exec(p);
    return m ? { who: m[1] ?? '', what: m[2] ?? '' } : { who: '', what: p };
  });
  const byClient = parsed.some((p) => p.who !== '');
  const rows = parsed
    .map(
      (p, i) =>
        `<tr><td class="num">${i + 1}</td>${byClient ? `<td class="id">${esc(p.who)}</td>` : ''}<td>${esc(p.what)}</td></tr>`,
    )
    .join('\n');
  const factRows = facts
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td class="num">${esc(String(v))}</td></tr>`)
    .join('');
  return {
    count: total,
    html: `<div class="findings"><div class="hexdiff-title">findings${total > problems.length ? ` (the first ${problems.length} of ${total})` : ''}</div>
${facts.length > 0 ? `<table class="facts">${factRows}</table>` : ''}
<table class="findings"><thead><tr><th>#</th>${byClient ? '<th>client</th>' : ''}<th>finding</th></tr></thead><tbody>
${rows}
</tbody></table></div>`,
  };
}

function renderEvidence(c: CaseResult): string {
  const diffs = hexComparisons(c.evidence, MAX_HEX_DIFFS);
  const findings = diffs.length > 0 ? { html: '', count: 0 } : renderFindings(c.evidence);
  let json = JSON.stringify(c.evidence, null, 2);
  if (json.length > MAX_EVIDENCE_CHARS) {
    json = `${json.slice(0, MAX_EVIDENCE_CHARS)}\n... (truncated; the full evidence is in summary.json)`;
  }
  const label =
    diffs.length > 0
      ? `evidence, ${plural(diffs.length, 'hex diff')}`
      : findings.count > 0
        ? `evidence, ${plural(findings.count, 'finding')}`
        : 'evidence';
  const open = (diffs.length > 0 || findings.count > 0) && c.verdict !== 'PASS';
  return `<details class="evidence"${open ? ' open' : ''}><summary>${label}</summary>
<p class="req"><strong>${esc(c.klass)}</strong> ${esc(c.requirement)} <span class="muted">(${esc(c.source)})</span></p>
${diffs.map(renderHexDiff).join('\n')}${findings.html}
<details class="raw"><summary>all evidence (JSON)</summary><pre class="json">${esc(json)}</pre></details></details>`;
}

function renderCheck(summary: Summary): string {
  const run = summary.run;
  const judged = caseExpectations(summary);
  const byId = new Map(judged.map((e) => [e.id, e]));
  const where = run.target.embedded
    ? `embedded reference server (${formatEndpoint(run.target.address, run.target.port)})`
    : `${run.target.input} (${formatEndpoint(run.target.address, run.target.port)})`;
  const ok = summary.exitCode === 0;
  const chips = VERDICTS.filter((v) => summary.counts[v] > 0)
    .map(
      (v) =>
        `<button type="button" class="chip ${verdictClass(v)}" data-filter="${esc(v)}" title="show only ${esc(v)}">${count(summary.counts[v])} ${esc(v)}</button>`,
    )
    .join(' ');
  const rows = summary.cases
    .map((c) => {
      const e = byId.get(c.id);
      // Without an expectations file every FAIL is "unexpected": the mark only helps with a file.
      const withFile = summary.expectations?.file !== undefined;
      const mark =
        !withFile || !e
          ? ''
          : e.unexpected
            ? ' <span class="unexpected">UNEXPECTED</span>'
            : e.from !== 'unlisted'
              ? ' <span class="muted">expected</span>'
              : '';
      const bug = e?.bug ? ` ${link(e.bug, 'bug')}` : '';
      return `<tr class="case ${verdictClass(c.verdict)}" id="case-${esc(c.id)}" data-case-id="${esc(c.id)}" data-verdict="${esc(c.verdict)}">
<td class="id">${esc(c.id)}</td><td>${badge(c.verdict)}${mark}${bug}</td><td class="klass">${esc(c.klass)}</td>
<td><div class="title">${esc(c.title)}</div><div class="muted section">${esc(c.section)}</div></td>
<td><div class="message">${esc(c.message)}</div>${renderEvidence(c)}</td>
<td class="num">${c.attempts}</td><td class="num">${(c.durationMs / 1000).toFixed(2)} s</td></tr>`;
    })
    .join('\n');
  return `<section id="check">
<div class="banner ${ok ? 'ok' : 'bad'}"><span class="big">${ok ? 'PASSED' : run.interrupted === undefined ? 'FAILED' : 'INTERRUPTED'}</span> exit code ${summary.exitCode}: ${esc(exitReason(summary, judged))}</div>
<dl class="facts">
<dt>target</dt><dd>${esc(where)}</dd>
<dt>cases</dt><dd><span id="case-total">${summary.total}</span> in ${(run.durationMs / 1000).toFixed(1)} s${run.options.strict ? ', --strict' : ''}${run.options.seed === undefined ? '' : `, seed ${run.options.seed}`}</dd>
${summary.expectations?.file === undefined ? '' : `<dt>expectations</dt><dd>${esc(summary.expectations.file)}${summary.expectations.targetKey ? ` (target ${esc(summary.expectations.targetKey)})` : ''}</dd>`}
<dt>platform</dt><dd>${esc(run.platform.os)}, Node.js ${esc(run.platform.node)}, ${run.platform.privileged ? 'privileged' : 'unprivileged'}, ${esc(run.ioPath)}</dd>
<dt>started</dt><dd>${esc(run.startedAt)}</dd>
</dl>
<p class="chips">${chips} <button type="button" class="chip" data-filter="">all</button> <button type="button" class="chip" data-expand="1">expand all evidence</button></p>
<table class="cases" id="cases">
<thead><tr><th>ID</th><th>verdict</th><th>class</th><th>case</th><th>finding and evidence</th><th>attempts</th><th>time</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</section>`;
}

function renderChart(c: ChartSpec): string {
  return `<figure class="chart" data-chart="${esc(c.id)}" data-points="${c.points}">
<figcaption><strong>${esc(c.title)}</strong> <span class="muted">${esc(c.caption)}</span></figcaption>
<div class="chart-plot"></div>${c.points === 0 ? '<p class="empty">no data</p>' : ''}</figure>`;
}

function renderLoad(load: LoadReportInput, charts: readonly ChartSpec[]): string {
  const c = load.counters;
  const pct = (n: number): string => (c.sent === 0 ? '-' : `${((100 * n) / c.sent).toPrecision(3)}%`);
  const latencyRow = (label: string, s: LatencySummary): string =>
    `<tr><th>${esc(label)}</th>${LATENCY_COLUMNS.map(([, k]) => `<td class="num">${s.count === 0 ? '-' : esc(formatLatency(s[k]))}</td>`).join('')}<td class="num">${count(s.count)}</td></tr>`;
  const thresholds =
    load.thresholds.length === 0
      ? '<p class="muted">No thresholds were given.</p>'
      : `<table class="thresholds"><thead><tr><th>threshold</th><th>actual</th><th>result</th></tr></thead><tbody>
${load.thresholds.map((t) => `<tr class="${t.ok ? 'v-pass' : 'v-fail'}"><td><code>${esc(t.threshold)}</code></td><td class="num">${esc(formatThresholdActual(t.kind, t.actual))}</td><td>${t.ok ? badge('PASS') : badge('FAIL')}</td></tr>`).join('\n')}
</tbody></table>`;
  const g = load.generator;
  const trials =
    load.trials === undefined || load.trials.length === 0
      ? ''
      : `<h3>Search trials</h3><table class="trials"><thead><tr><th>#</th><th>offered/s</th><th>achieved/s</th><th>loss</th><th>p99</th></tr></thead><tbody>
${load.trials.map((t, i) => `<tr><td>${i + 1}</td><td class="num">${count(t.offered)}</td><td class="num">${count(t.achieved)}</td><td class="num">${t.lossPercent.toPrecision(3)}%</td><td class="num">${t.p99Us === undefined ? '-' : esc(formatLatency(t.p99Us))}</td></tr>`).join('\n')}
</tbody></table>`;
  const o = load.options;
  const outcome = loadOutcome(load);
  return `<section id="load">
<div class="banner ${outcome === 'PASSED' ? 'ok' : outcome === 'INCONCLUSIVE' ? 'inconclusive' : 'bad'}" data-outcome="${outcome}"><span class="big">${outcome}</span> ${load.interrupted === undefined ? '' : `by ${esc(load.interrupted)} after ${(load.durationMs / 1000).toFixed(1)} s of ${o.durationMs / 1000} s; `}${esc(loadOutcomeReason(load.thresholds, g.bottleneck))}</div>
<dl class="facts">
<dt>target</dt><dd>${load.target.embedded ? 'reference server on loopback' : esc(load.target.input)} (${esc(formatEndpoint(load.target.address, load.target.port))})</dd>
<dt>mode</dt><dd>${esc(load.mode)}${load.mode === 'rate' ? `, ${count(o.rate)}/s offered, ${esc(o.arrival)} arrivals` : ''}${load.mode === 'flood' ? `, window ${o.window}` : ''}, ${plural(o.flows, 'flow')}, sizes ${esc(o.sizes.join(', '))} bytes</dd>
<dt>duration</dt><dd>${(load.durationMs / 1000).toFixed(1)} s measured (warm-up ${o.warmupMs / 1000} s, drain ${o.drainMs / 1000} s)</dd>
<dt>started</dt><dd>${esc(load.startedAt)}</dd>
</dl>
<h3>Thresholds</h3>
${thresholds}
<h3>Latency</h3>
<table class="latency"><thead><tr><th></th>${LATENCY_COLUMNS.map(([h]) => `<th>${h}</th>`).join('')}<th>samples</th></tr></thead><tbody>
${latencyRow('response', load.response)}
${latencyRow('service', load.service)}
${latencyRow('send lag', load.sendLag)}
</tbody></table>
<p class="muted">Response time is measured from the intended send time (a stalled generator cannot hide server delay); service time from the actual send. Jitter ${c.unique === 0 ? '-' : esc(formatLatency(load.jitterUs))}.</p>
<h3>Rates and counters</h3>
<table class="counters"><thead><tr><th>offered/s</th><th>achieved echoes/s</th><th>sent/s</th><th>sent</th><th>unique</th><th>lost</th><th>late</th><th>dup</th><th>reordered</th><th>corrupt</th><th>trunc</th><th>foreign</th><th>icmp</th></tr></thead><tbody>
<tr><td class="num">${load.mode === 'rate' ? count(load.rates.offered) : '-'}</td><td class="num">${count(load.rates.echoes)}</td><td class="num">${count(load.rates.sent)}</td><td class="num">${count(c.sent)}</td><td class="num">${count(c.unique)}</td><td class="num">${count(c.lost)} (${pct(c.lost)})</td><td class="num">${count(c.late)}</td><td class="num">${count(c.duplicates)}</td><td class="num">${count(c.reordered)}</td><td class="num">${count(c.corrupted)}</td><td class="num">${count(c.truncated)}</td><td class="num">${count(c.foreign)}</td><td class="num">${count(c.icmpErrors)}</td></tr>
</tbody></table>
<p class="muted">Loss attribution: ${count(load.lossAttribution.generator)} dropped by the generator's own sockets, ${count(load.lossAttribution.networkOrServer)} by the network or the server${load.lossAttribution.note === undefined ? '' : ` (${esc(load.lossAttribution.note)})`}. Generator: socket drops ${count(g.socketDrops)}, rcvbuf errors ${count(g.rcvbufErrors)}, sndbuf errors ${count(g.sndbufErrors)}${g.reasons.length > 0 ? `; ${esc(g.reasons.join('; '))}` : ''}.</p>
${trials}
${load.shards === undefined ? '' : renderShardsHtml(load.shards)}
<h3>Charts</h3>
<div class="charts">
${charts.map(renderChart).join('\n')}
</div>
</section>`;
}

/** A gate's verdict as the suite's other reports say it: NOT-RUN (interrupted), ERROR (it could not run), FAIL or PASS. */
const GATE_VERDICT: Record<GateStatus, Verdict> = {
  passed: 'PASS',
  failed: 'FAIL',
  error: 'ERROR',
  'not-run': 'NOT-RUN',
};

function renderSuite(run: Omit<LoadSuiteRun, 'mochawesome'>): string {
  const ok = run.exitCode === 0;
  const outcome = run.interrupted !== undefined ? 'INTERRUPTED' : ok ? 'PASSED' : 'FAILED';
  const passed = run.gates.filter((g) => g.passed).length;
  const where = run.target.embedded
    ? `embedded reference server (${formatEndpoint(run.target.address, run.target.port)})`
    : `${run.target.input} (${formatEndpoint(run.target.address, run.target.port)})`;
  const rows = run.gates
    .map((g) => {
      const v = GATE_VERDICT[gateStatus(g)];
      const problem = gateProblem(g);
      const r = g.result;
      const figures = r
        ? `${esc(r.mode)}: ${count(r.counters.sent)} sent, ${count(r.rates.echoes)}/s echoed, p99 ${r.response.count === 0 ? '-' : esc(formatLatency(r.response.p99))}${r.generator.bottleneck ? '; <strong>the generator was the bottleneck</strong>' : ''}`
        : '-';
      const thresholds =
        problem !== undefined
          ? `<div class="message">${esc(problem)}</div>`
          : g.thresholds.length === 0
            ? '<span class="muted">no thresholds</span>'
            : `<table class="thresholds"><tbody>${g.thresholds
                .map(
                  (t) =>
                    `<tr class="${t.ok ? 'v-pass' : 'v-fail'}"><td><code>${esc(t.threshold)}</code></td><td class="num">${esc(formatThresholdActual(t.kind, t.actual))}</td><td>${badge(t.ok ? 'PASS' : 'FAIL')}</td></tr>`,
                )
                .join('')}</tbody></table>`;
      return `<tr class="gate ${verdictClass(v)}" data-verdict="${v}"><td>${badge(v)}</td><td><div class="title">${esc(g.title)}</div><div class="muted">${esc(g.file)}</div></td><td>${figures}</td><td>${thresholds}</td><td class="num">${(g.durationMs / 1000).toFixed(2)} s</td></tr>`;
    })
    .join('\n');
  return `<section id="suite">
<div class="banner ${ok ? 'ok' : 'bad'}" data-outcome="${outcome}"><span class="big">${outcome}</span> exit code ${run.exitCode}: ${run.notStarted === undefined ? `${passed} of ${plural(run.gates.length, 'gate')} passed${run.interrupted === undefined ? '' : `; interrupted by ${esc(run.interrupted)}, ${plural(run.gates.filter((g) => g.notRun !== undefined).length, 'gate')} not run`}` : `no gate ran, the ${esc(run.notStarted.stage)} failed: ${esc(run.notStarted.diagnosis)}`}</div>
<dl class="facts">
<dt>target</dt><dd>${esc(where)}</dd>
<dt>gates</dt><dd>${run.gates.length} in ${(run.durationMs / 1000).toFixed(1)} s</dd>
<dt>started</dt><dd>${esc(run.startedAt)}</dd>
</dl>
<table class="gates" id="gates">
<thead><tr><th>verdict</th><th>gate</th><th>figures</th><th>thresholds (measured)</th><th>time</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</section>`;
}

function renderMatrix(m: MatrixSection): string {
  const counts = new Map<Verdict, number>();
  for (const r of m.rows)
    for (const cell of Object.values(r.cells)) counts.set(cell.verdict, (counts.get(cell.verdict) ?? 0) + 1);
  const head = m.columns.map((c) => `<th>${link(c.href, c.label ?? c.id)}</th>`).join('');
  const rows = m.rows
    .map((r) => {
      const cells = m.columns
        .map((col) => {
          const cell = r.cells[col.id];
          if (!cell) return '<td class="not-run muted">not run</td>';
          const title = cell.message === undefined ? '' : ` title="${esc(cell.message)}"`;
          const h = cell.href === undefined ? undefined : safeHref(cell.href);
          const inner = h === undefined ? esc(cell.verdict) : `<a href="${esc(h)}">${esc(cell.verdict)}</a>`;
          return `<td class="cell ${verdictClass(cell.verdict)}" data-verdict="${esc(cell.verdict)}"${title}>${inner}</td>`;
        })
        .join('');
      return `<tr class="matrix-row" data-case-id="${esc(r.id)}"><th class="id">${esc(r.id)}</th><td>${esc(r.title ?? '')}</td>${cells}</tr>`;
    })
    .join('\n');
  const chips = VERDICTS.filter((v) => (counts.get(v) ?? 0) > 0)
    .map((v) => `<span class="chip ${verdictClass(v)}">${count(counts.get(v) ?? 0)} ${esc(v)}</span>`)
    .join(' ');
  return `<section id="matrix">
<h2>Matrix: ${plural(m.rows.length, 'case')} × ${plural(m.columns.length, 'server')}</h2>
<p class="chips">${chips}</p>
<table class="matrix"><thead><tr><th>ID</th><th>case</th>${head}</tr></thead><tbody>
${rows}
</tbody></table>
</section>`;
}

const STYLE = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--alt:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:16px 24px 48px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}h3{font-size:15px;margin:20px 0 6px}
.muted{color:var(--muted)}a{color:#0969da}
nav.links a{margin-right:12px}
.banner{padding:10px 14px;border-radius:6px;margin:12px 0;border:1px solid}
.banner.ok{background:#dafbe1;border-color:#4ac26b}.banner.bad{background:#ffebe9;border-color:#ff8182}.banner.inconclusive{background:#fff8c5;border-color:#d4a72c}
.banner .big{font-weight:700;margin-right:8px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid var(--line);padding:4px 8px;vertical-align:top;text-align:left}
thead th{background:var(--alt);position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.id,th.id{white-space:nowrap;font-weight:600}
table.cases{width:100%}table.cases td:nth-child(5){width:55%}
.verdict,.chip{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid transparent;white-space:nowrap}
button.chip{cursor:pointer;background:var(--alt);border-color:var(--line);font:inherit;font-size:12px}
.v-pass .verdict,.chip.v-pass,.verdict.v-pass{background:#dafbe1;color:#116329}
.verdict.v-flaky,.chip.v-flaky{background:#fff8c5;color:#7d4e00}
.verdict.v-info,.chip.v-info{background:#ddf4ff;color:#0550ae}
.verdict.v-non-strict,.chip.v-non-strict{background:#fff1e5;color:#953800}
.verdict.v-unsupported,.chip.v-unsupported,.verdict.v-not-run,.chip.v-not-run{background:#eaeef2;color:#57606a}
.verdict.v-fail,.chip.v-fail{background:#ffebe9;color:#a40e26}
.verdict.v-error,.chip.v-error{background:#fbefff;color:#8250df}
tr.case.v-fail td:first-child{border-left:4px solid #cf222e}tr.case.v-error td:first-child{border-left:4px solid #8250df}
.unexpected{color:#a40e26;font-weight:700;font-size:12px}
details.evidence summary,details.raw summary{cursor:pointer;color:var(--muted);font-size:12px}
pre{background:var(--alt);padding:6px 8px;overflow:auto;max-height:360px;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;margin:4px 0}
.hexdiff-title{font-size:12px;font-weight:600}.hexdiff mark{background:#ffcecb;color:#82071e}.hex-label{color:var(--muted)}
p.req{margin:4px 0;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
figure.chart{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px}figure.chart figcaption{font-size:13px;margin-bottom:4px}
.chart-plot{min-height:320px}p.empty{color:#a40e26;font-weight:600}
table.matrix td.cell{text-align:center;font-weight:600}
table.matrix td.v-pass{background:#dafbe1}table.matrix td.v-fail{background:#ffebe9}table.matrix td.v-error{background:#fbefff}
table.matrix td.v-non-strict,table.matrix td.v-flaky{background:#fff8c5}table.matrix td.v-info{background:#ddf4ff}table.matrix td.v-unsupported{background:#eaeef2}
footer{margin-top:32px;font-size:12px;color:var(--muted)}
`;

/** Draws the charts with uPlot from the embedded data and wires the filters; records each chart for tests. */
const CLIENT = `(function(){
"use strict";
var data=JSON.parse(document.getElementById("echolot-data").textContent);
var charts={};window.echolotCharts=charts;
function trim(s){return s.indexOf(".")<0?s:s.replace(/\\.?0+$/,"");}
function fmt(kind,v){
 if(v==null||!isFinite(v))return "-";
 switch(kind){
  case "percentile": if(v>=100000)return "max"; if(v<=1)return "min"; return "p"+trim((100*(1-1/v)).toFixed(4));
  case "seconds": return trim(v.toFixed(2))+" s";
  case "rate": return v>=1e6?trim((v/1e6).toFixed(2))+"M":v>=1e3?trim((v/1e3).toFixed(1))+"k":trim(v.toFixed(1));
  case "latency": return v>=1e6?trim((v/1e6).toFixed(2))+" s":v>=1e3?trim((v/1e3).toFixed(2))+" ms":trim(v.toFixed(1))+" µs";
  case "percent": return trim(v.toPrecision(3))+"%";
 }
 return String(v);
}
function logLabel(v){var m=v/Math.pow(10,Math.floor(Math.log10(v)+1e-9));return Math.abs(m-1)<1e-6||Math.abs(m-2)<1e-6||Math.abs(m-5)<1e-6;}
function axis(a){
 var o={label:a.label,values:function(u,vals){return vals.map(function(v){return a.log&&a.format!=="percentile"&&!logLabel(v)?"":fmt(a.format,v);});},size:60};
 if(a.splits)o.splits=function(){return a.splits;};
 return o;
}
function scale(a,o){o.distr=a.log?3:1;
 if(a.min!=null||a.max!=null)o.range=function(u,lo,hi){return [a.min!=null?a.min:lo,a.max!=null?a.max:hi];};
 return o;}
(data.charts||[]).forEach(function(spec){
 var fig=document.querySelector('[data-chart="'+spec.id+'"]');if(!fig)return;
 var el=fig.querySelector(".chart-plot");
 var rec={id:spec.id,points:spec.points,rendered:false,error:null,width:0,height:0};charts[spec.id]=rec;
 if(typeof uPlot!=="function"){rec.error="uPlot is missing";el.textContent=rec.error;return;}
 try{
  var opts={
   width:Math.max(480,(el.clientWidth||560)),height:300,
   scales:{x:scale(spec.x,{time:false}),y:scale(spec.y,{})},
   axes:[axis(spec.x),axis(spec.y)],
   legend:{live:false},
   series:[{label:spec.x.label,value:function(u,v){return fmt(spec.x.format,v);}}].concat(spec.series.map(function(s){
    return {label:s.label,stroke:s.color,width:s.line?2:0,spanGaps:true,dash:s.dash?s.dash:s.reference?[6,4]:undefined,
     paths:s.line?undefined:function(){return null;},
     points:{show:!s.reference,space:0,size:s.line?5:7,fill:s.color,stroke:s.color},
     value:function(u,v){return fmt(spec.y.format,v);}};
   }))
  };
  var u=new uPlot(opts,spec.data,el);
  rec.rendered=true;rec.width=u.width;rec.height=u.height;
 }catch(e){rec.error=String(e&&e.message||e);el.textContent="chart failed: "+rec.error;}
});
var rows=document.querySelectorAll("tr.case");
document.querySelectorAll("button[data-filter]").forEach(function(b){
 b.addEventListener("click",function(){var v=b.getAttribute("data-filter");
  rows.forEach(function(r){r.hidden=!!v&&r.getAttribute("data-verdict")!==v;});});
});
document.querySelectorAll("button[data-expand]").forEach(function(b){
 b.addEventListener("click",function(){var all=document.querySelectorAll("details.evidence");var open=b.getAttribute("data-expand")==="1";
  all.forEach(function(d){d.open=open;});b.setAttribute("data-expand",open?"0":"1");b.textContent=open?"collapse all evidence":"expand all evidence";});
});
document.body.setAttribute("data-ready","true");
})();`;

/**
 * The self-contained index.html of a run (pure): verdict summary, the case table with evidence and
 * hex diffs, the load charts, the matrix. Everything it needs is inlined (uPlot, styles, data), and
 * a Content-Security-Policy forbids any fetch, so it opens from disk with no network.
 */
export function renderIndexHtml(input: HtmlReportInput, assets: ChartAssets): string {
  const charts = input.load ? loadCharts(input.load) : [];
  const kind = [
    input.check && 'check',
    input.load && 'load',
    input.suite && 'load gates',
    input.matrix && 'matrix',
  ]
    .filter(Boolean)
    .join(' + ');
  const runId = input.check?.run.runId ?? input.load?.runId ?? input.suite?.runId ?? '';
  const version = input.check?.run.tool.version;
  const links = (input.links ?? []).map((l) => link(l.href, l.label)).join(' ');
  const title = `echolot ${kind}${runId ? ` ${runId}` : ''}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>${assets.css}</style>
<style>${STYLE}</style>
</head><body data-kind="${esc(kind)}">
<header><h1>${esc(title)}</h1>
${links ? `<nav class="links">${links}</nav>` : ''}</header>
${input.check ? renderCheck(input.check) : ''}
${input.load ? renderLoad(input.load, charts) : ''}
${input.suite ? renderSuite(input.suite) : ''}
${input.matrix ? renderMatrix(input.matrix) : ''}
<footer>echolot${version ? ` ${esc(version)}` : ''}; charts by ${esc(assets.name)} ${esc(assets.version)} (${esc(assets.license)} licence), inlined.</footer>
<script type="application/json" id="echolot-data">${scriptJson({ charts })}</script>
<script>${assets.script.replace(/<\/script/gi, '<\\/script')}</script>
<script>${CLIENT}</script>
</body></html>
`;
}
