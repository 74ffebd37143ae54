import type { MatrixColumn, MatrixResult } from '../results/matrix-result.js';

/** A cell as text: the verdict, or why there is none. */
const cellText = (col: MatrixColumn, id: string): string =>
  col.cells[id]?.verdict ??
  (col.status === 'checked' ? 'excluded' : col.status === 'error' ? 'ERROR' : 'n/a');

/** The evidence a cell links to: the target's mochawesome report (each case is a test in it). */
const evidenceLink = (col: MatrixColumn): string | undefined =>
  col.reportDir === undefined ? undefined : `${col.reportDir}/mochawesome.html`;

/** matrix.json: the result as it is, for tools (and for the HTML report to embed). */
export function renderMatrixJson(result: MatrixResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

const mdEscape = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One line per column that says why it has no cells, or nothing. */
const columnStatus = (c: MatrixColumn): string =>
  c.status === 'checked' ? '' : `${c.status === 'error' ? 'ERROR' : 'not started'}: ${c.reason ?? ''}`;

/** matrix.md: rows are cases, columns servers, each cell a verdict linked to that server's report. */
export function renderMatrixMarkdown(result: MatrixResult): string {
  const cols = result.columns;
  const lines = [
    `# ${result.title}`,
    '',
    `Run ${result.runId}, echolot ${result.tool.version}, ${cols.length} servers x ${result.cases.length} cases in ${(result.durationMs / 1000).toFixed(1)} s (seed ${result.check.seed}, timeout ${result.check.timeoutMs} ms, retries ${result.check.retries}).`,
    '',
    `| case | ${cols.map((c) => mdEscape(c.name)).join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
  ];
  for (const k of result.cases) {
    const cells = cols.map((c) => {
      const text = cellText(c, k.id);
      const link = evidenceLink(c);
      return link && c.cells[k.id] ? `[${text}](${link})` : text;
    });
    lines.push(`| ${k.id} ${mdEscape(k.title)} (${k.klass}) | ${cells.join(' | ')} |`);
  }
  lines.push('', '## Servers', '');
  for (const c of cols) {
    lines.push(`### ${c.name}`, '', c.description, '');
    lines.push(`- version: ${c.version}`);
    if (c.where) lines.push(`- runs: ${c.where}, checked at ${c.address ?? '?'}`);
    if (c.commandLine) lines.push(`- started: \`${c.commandLine}\``);
    if (c.reportDir)
      lines.push(
        `- evidence: [${c.reportDir}/mochawesome.html](${c.reportDir}/mochawesome.html), [summary.json](${c.reportDir}/summary.json)`,
      );
    if (c.status !== 'checked') lines.push(`- ${columnStatus(c)}`);
    const findings = Object.entries(c.cells).filter(
      ([, v]) => v.verdict !== 'PASS' && v.verdict !== 'UNSUPPORTED',
    );
    for (const [id, v] of findings) lines.push(`- ${v.verdict} ${id}: ${mdEscape(v.message)}`);
    lines.push('');
  }
  return `${lines.join('\n')}`;
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const CELL_CLASS: Readonly<Record<string, string>> = {
  PASS: 'pass',
  FLAKY: 'flaky',
  INFO: 'info',
  'NON-STRICT': 'nonstrict',
  UNSUPPORTED: 'unsup',
  FAIL: 'fail',
  ERROR: 'error',
};

/** matrix.html: the same table as one self-contained page (inline CSS, no scripts); each cell's title is its message. */
export function renderMatrixHtml(result: MatrixResult): string {
  const cols = result.columns;
  const head = cols
    .map(
      (c) =>
        `<th title="${esc(`${c.description}\n${c.version}${c.status === 'checked' ? '' : `\n${columnStatus(c)}`}`)}">${esc(c.name)}<br><small>${esc(c.version)}</small></th>`,
    )
    .join('');
  const rows = result.cases
    .map((k) => {
      const tds = cols
        .map((c) => {
          const cell = c.cells[k.id];
          const text = cellText(c, k.id);
          const link = evidenceLink(c);
          const inner = link && cell ? `<a href="${esc(link)}">${esc(text)}</a>` : esc(text);
          return `<td class="${CELL_CLASS[text] ?? 'none'}" title="${esc(cell?.message ?? columnStatus(c))}">${inner}</td>`;
        })
        .join('');
      return `<tr><th class="case">${esc(k.id)} ${esc(k.title)} <small>${esc(k.klass)}</small></th>${tds}</tr>`;
    })
    .join('\n');
  const servers = cols
    .map(
      (c) =>
        `<li><b>${esc(c.name)}</b>: ${esc(c.description)} (${esc(c.version)})${c.commandLine ? `<br><code>${esc(c.commandLine)}</code>` : ''}${c.where ? `<br>${esc(c.where)}` : ''}${c.status === 'checked' ? '' : `<br><b>${esc(columnStatus(c))}</b>`}${c.reportDir ? `<br><a href="${esc(c.reportDir)}/mochawesome.html">report</a> · <a href="${esc(c.reportDir)}/summary.json">summary.json</a>` : ''}</li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(result.title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 6px;text-align:center}
th.case{text-align:left;font-weight:normal}td a{color:inherit}
.pass{background:#d9f2d9}.flaky{background:#fff2b3}.info{background:#d6ecf5}.nonstrict{background:#ffe0b3}
.unsup{background:#eee;color:#777}.fail{background:#f7c6c6}.error{background:#e3c6f7}.none{color:#999}
</style></head><body>
<h1>${esc(result.title)}</h1>
<p>Run ${esc(result.runId)}, echolot ${esc(result.tool.version)}, ${cols.length} servers × ${result.cases.length} cases in ${(result.durationMs / 1000).toFixed(1)} s (seed ${result.check.seed}). Hover a cell for its message; click it for the evidence.</p>
<table><thead><tr><th>case</th>${head}</tr></thead><tbody>
${rows}
</tbody></table>
<h2>Servers</h2><ul>
${servers}
</ul></body></html>
`;
}
