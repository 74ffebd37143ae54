/** The bench's terminal output as lines: what runs, then the table, the ratios and the notes (docs/benchmarks.md). */
import { MANY_FLOWS, type BenchConfig } from './config.js';
import type { Pinning } from './machine.js';
import type { Row } from './rows.js';
import { figure, median, type Ratio, type Summary } from './summary.js';

function fmtNumber(v: number, unit: Row['unit']): string {
  if (!Number.isFinite(v)) return 'n/a';
  return unit.startsWith('us ') ? v.toFixed(1) : `${(v / 1000).toFixed(1)}k`;
}

/** Payload bytes per second, in MB/s (10^6 bytes), of a rate row; empty for the others. */
function fmtBytes(rate: number, row: Row): string {
  if (row.payloadBytes === undefined || !Number.isFinite(rate)) return '';
  return `${((rate * row.payloadBytes) / 1e6).toFixed(1)} MB/s`;
}

/** `>= 1.00: met`, `<= 1.05: not met`, `>= 1.00: n/a`; empty without a goal. */
export function fmtGoal(r: Ratio): string {
  if (r.goal === undefined) return '';
  const verdict = r.met === true ? 'met' : r.met === false ? 'NOT MET' : 'n/a';
  return `goal ${r.goal.op} ${r.goal.value.toFixed(2)}: ${verdict}`;
}

const loads = (l: readonly number[]): string => l.map((x) => x.toFixed(2)).join(' ');

/** The lines before the measurements: the run's settings, the pinning, the C build and the load average. */
export function renderHeader(
  config: BenchConfig,
  pin: Pinning,
  built: readonly string[],
  buildDir: string,
  loadBefore: readonly number[],
  cpuCount: number,
): string[] {
  return [
    `echolot bench${config.quick ? ' (--quick)' : ''}: ${config.size}-byte payload, ${config.flows} flows x window ` +
      `${config.window} (${config.flows * config.window} outstanding), flood ${config.floodMs} ms and ping-pong ` +
      `${config.pingPongMs} ms per row after ${config.warmupMs} ms warm-up, ${config.reps} repetition(s) interleaved, median`,
    `large-datagram and ${MANY_FLOWS}-flow rows: ${config.extraFloodMs} ms after ${config.extraWarmupMs} ms warm-up; ` +
      `rate-precision rows: ${config.rateMs} ms after ${config.rateWarmupMs} ms warm-up; ` +
      `sockperf rows: sockperf -t ${config.sockperfSeconds}`,
    `${pin.note}; C built${built.length ? `: ${built.join(', ')}` : ': up to date'} (${buildDir})`,
    `load average before: ${loads(loadBefore)} on ${cpuCount} CPUs`,
  ];
}

/** The table of rows (median, min, max and count of each), with a blank line before it. */
export function renderTable(rows: readonly Row[], summary: Summary): string[] {
  const header = ['group', 'row', 'median', 'unit', 'min', 'max', 'n', 'payload bytes/s'];
  const table = rows.map((r) => {
    const vals = summary.samplesOf(r).map(figure).filter(Number.isFinite);
    if (r.skipped !== undefined) return [r.group, r.label, 'skipped', '', '', '', '0', ''];
    const mid = median(vals);
    return [
      r.group,
      r.label + (r.sameAs ? ' (= C mmsg server row)' : ''),
      fmtNumber(mid, r.unit),
      r.unit,
      fmtNumber(Math.min(...vals), r.unit),
      fmtNumber(Math.max(...vals), r.unit),
      String(vals.length),
      fmtBytes(mid, r),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => (t[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i >= 2 && i !== 3 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ');
  return ['', line(header), ...table.map(line)];
}

/**
 * The ratios (each with its goal, if any: met or NOT MET, which never changes the exit code), the
 * skipped rows, the bottleneck notes and the load average after the run.
 */
export function renderSummary(
  rows: readonly Row[],
  summary: Summary,
  reps: number,
  loadAfter: readonly number[],
): string[] {
  const lines = [
    '',
    `ratios of medians of ${reps} interleaved repetition${reps === 1 ? '' : 's'} (goals are reported, not enforced):`,
  ];
  const rw = Math.max(...summary.ratios.map((r) => r.name.length));
  const gw = Math.max(...summary.ratios.map((r) => fmtGoal(r).length));
  for (const r of summary.ratios) {
    const value = (r.value === null ? 'n/a' : r.value.toFixed(3)).padStart(6);
    lines.push(`  ${r.name.padEnd(rw)}  ${value}  ${fmtGoal(r).padEnd(gw)}  ${r.meaning}`);
  }
  for (const r of rows) if (r.skipped !== undefined) lines.push(`skipped: ${r.label}: ${r.skipped}`);
  if (summary.bottlenecks.length > 0) {
    lines.push(
      'echolot generator reported itself as the bottleneck (its figure is a floor, not the server):',
    );
    for (const b of summary.bottlenecks) lines.push(`  ${b}`);
  }
  lines.push(`load average after: ${loads(loadAfter)}`);
  return lines;
}
