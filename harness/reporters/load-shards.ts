/** The per-shard table of a merged distributed load run (`echolot merge`): console lines and an HTML section. */
import { escapeControls } from '../core/escape.js';
import type { ShardsSection } from '../load/merge.js';
import {
  formatLatency,
  formatPercent,
  formatRate,
  paint,
  table,
  type LoadConsoleStyle,
} from './load-console.js';

const count = (n: number): string => n.toLocaleString('en-US');
const ms = (n: number): string => `${n.toFixed(n < 10 ? 2 : 0)} ms`;

/** The header and the cells of each shard's row (console and HTML show the same figures). */
function cells(section: ShardsSection): { header: string[]; rows: string[][] } {
  const header = [
    'shard',
    'host',
    'start +',
    'rate/s',
    'flows',
    'sent',
    'lost',
    'late',
    'echoes/s',
    'p99',
    'lag p99',
    'notes',
  ];
  const rows = section.rows.map((r) => [
    String(r.index),
    escapeControls(r.host),
    ms(r.startOffsetMs),
    formatRate(r.rate),
    String(r.flows),
    count(r.sent),
    `${count(r.lost)} (${formatPercent(r.lossPercent)})`,
    count(r.late),
    formatRate(r.echoRate),
    formatLatency(r.responseP99Us),
    formatLatency(r.sendLagP99Us),
    r.flags.join(', '),
  ]);
  return { header, rows };
}

/** What the section says above the table: how many shards, which are missing, the spread of their starts. */
export function shardsSummaryLine(section: ShardsSection): string {
  const missing =
    section.missing.length === 0
      ? 'all present'
      : `MISSING ${section.missing.length === 1 ? 'shard' : 'shards'} ${section.missing.join(', ')} (merged without them)`;
  return `run ${escapeControls(section.runId)}: ${section.present.length} of ${section.count} shards, ${missing}; starts spread over ${ms(section.startSpreadMs)}`;
}

/** The console's shard table. */
export function renderShardTable(section: ShardsSection, style: LoadConsoleStyle): string {
  const { header, rows } = cells(section);
  const line = shardsSummaryLine(section);
  return [
    '',
    paint(style, '1', 'Shards'),
    section.partial ? paint(style, '33', line) : line,
    ...table(style, header, rows),
    '',
  ].join('\n');
}

/** Text for the page: markup escaped. */
const esc = (s: string): string =>
  escapeControls(s, { keepLineBreaks: true }).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The HTML section of the shard table (inside the load section of index.html). */
export function renderShardsHtml(section: ShardsSection): string {
  const { header, rows } = cells(section);
  const reasons = section.rows.flatMap((r) => r.reasons.map((x) => `shard ${r.index}: ${x}`));
  return `<h3>Shards</h3>
<p class="${section.partial ? 'bad' : 'muted'}">${esc(shardsSummaryLine(section))}</p>
<table class="shards"><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${rows.map((r) => `<tr>${r.map((c, i) => `<td${i > 1 && i < r.length - 1 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>${reasons.length === 0 ? '' : `\n<p class="muted">${esc(reasons.join('; '))}</p>`}`;
}
