import type { IntervalStats, LatencySummary, LoadOptions, LoadResult } from '../load/types.js';
import type { GateRecord } from '../load/suite.js';
import { gateProblem, gateStatus, type GateStatus } from '../load/gate-status.js';
import type { Threshold, ThresholdKind, ThresholdOutcome } from '../load/thresholds.js';
import { formatEndpoint } from '../core/address.js';

/** How to draw: colour and Unicode marks only on a terminal that wants them (the CLI decides: TTY and no NO_COLOR). */
export interface LoadConsoleStyle {
  readonly color: boolean;
}

/** Where the run's files went, for the closing lines. */
export interface LoadReportInfo {
  /** Path of load.json as the user should see it (relative when under the working directory). */
  readonly loadJson?: string;
}

/** Wraps text in an SGR colour code when the style allows colour. */
export const paint = (style: LoadConsoleStyle, code: string, text: string): string =>
  style.color ? `\u001b[${code}m${text}\u001b[0m` : text;

/** A latency in microseconds, in the unit that keeps it readable (ns below 1 us, then us, ms, s). */
export function formatLatency(us: number): string {
  if (!Number.isFinite(us)) return '-';
  if (us === 0) return '0 us';
  if (us < 1) return `${Math.round(us * 1000)} ns`;
  if (us < 1000) return `${us < 10 ? us.toFixed(1) : Math.round(us)} us`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

/** A per-second figure without spurious decimals. */
export const formatRate = (n: number): string =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
const formatCount = (n: number): string => n.toLocaleString('en-US');

/** A percentage with enough decimals to show small losses (0.012 %). */
export const formatPercent = (p: number): string =>
  !Number.isFinite(p) ? '-' : p === 0 ? '0%' : `${p >= 1 ? p.toFixed(2) : p.toPrecision(2)}%`;

/**
 * A threshold's measured value with its unit, the same in every output (console, HTML, Markdown,
 * annotations, the suite's reports): latency in ns/us/ms/s, a ratio in %, a count in datagrams, a
 * rate per second. Nothing measured (null or NaN) says why: no replies, nothing sent, or `-`.
 */
export function formatThresholdActual(kind: ThresholdKind, actual: number | null): string {
  if (actual === null || Number.isNaN(actual))
    return kind === 'latency' ? 'no replies' : kind === 'ratio' ? 'nothing sent' : '-';
  switch (kind) {
    case 'latency':
      return formatLatency(actual);
    case 'ratio':
      return formatPercent(actual);
    case 'count':
      return `${formatCount(actual)} datagram${actual === 1 ? '' : 's'}`;
    case 'rate':
      return `${formatRate(actual)}/s`;
  }
}

/** A threshold's measured value in the threshold's own unit. */
export const formatThresholdValue = (t: Threshold, actual: number): string =>
  formatThresholdActual(t.kind, actual);

/** The outcome of a load run as every banner states it. */
export type LoadOutcome = 'PASSED' | 'FAILED' | 'INCONCLUSIVE' | 'INTERRUPTED';

/**
 * An interrupted run is INTERRUPTED; otherwise a breached threshold FAILs it, and a run whose
 * generator was the bottleneck is INCONCLUSIVE (its figures bound what the generator could do, not
 * what the server can), not PASSED. The exit code is not this: it follows the signal or the
 * thresholds (0 unless one is breached).
 */
export function loadOutcome(run: {
  readonly passed: boolean;
  readonly generator: { readonly bottleneck: boolean };
  readonly interrupted?: string;
}): LoadOutcome {
  if (run.interrupted !== undefined) return 'INTERRUPTED';
  return !run.passed ? 'FAILED' : run.generator.bottleneck ? 'INCONCLUSIVE' : 'PASSED';
}

/** The banner's words after the outcome: how many thresholds hold, and the bottleneck when there was one. */
export function loadOutcomeReason(
  thresholds: readonly { readonly ok: boolean }[],
  bottleneck: boolean,
): string {
  const n = thresholds.length;
  const held =
    n === 0
      ? 'no thresholds given'
      : `${thresholds.filter((t) => t.ok).length} of ${n} threshold${n === 1 ? '' : 's'} hold`;
  return bottleneck ? `${held}; the generator was the bottleneck: no server capacity is claimed` : held;
}

/** Left-aligned first column, right-aligned figures, separated by two spaces; a rule under the header. */
export function table(
  style: LoadConsoleStyle,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => (style.color ? '─' : '-').repeat(w)).join('  ');
  return [paint(style, '1', line(header)), rule, ...rows.map(line)];
}

/** The latency columns of every load report (console and HTML): heading and summary field. */
export const LATENCY_COLUMNS: readonly (readonly [string, keyof LatencySummary])[] = [
  ['min', 'min'],
  ['p50', 'p50'],
  ['p90', 'p90'],
  ['p99', 'p99'],
  ['p99.9', 'p999'],
  ['p99.99', 'p9999'],
  ['max', 'max'],
  ['mean', 'mean'],
  ['stdev', 'stdev'],
];

const latencyRow = (label: string, s: LatencySummary): string[] => [
  label,
  ...LATENCY_COLUMNS.map(([, k]) => (s.count === 0 ? '-' : formatLatency(s[k]))),
];

/** The line printed before a run starts (the options as given; the engine fills in defaults). */
export function renderLoadStart(options: LoadOptions): string {
  const where = options.target ?? 'the embedded reference server';
  const mode = options.mode ?? 'rate';
  const rate = mode === 'rate' && options.rate !== undefined ? ` at ${formatRate(options.rate)}/s` : '';
  const time = options.durationMs === undefined ? '' : ` for ${options.durationMs / 1000} s`;
  return `echolot load: ${mode} mode${rate}${time} against ${where}...\n`;
}

/** What the run was: mode, load shape, target. */
export function renderLoadHeader(result: LoadResult): string {
  const o = result.options;
  const where = result.target.embedded
    ? `the embedded reference server at ${formatEndpoint(result.target.address, result.target.port)}`
    : `${result.target.input} (${formatEndpoint(result.target.address, result.target.port)})`;
  const shape =
    result.mode === 'rate'
      ? `offered ${formatRate(o.rate)}/s (${o.arrival})`
      : result.mode === 'flood'
        ? `window ${o.window} per flow`
        : 'one outstanding probe per flow';
  const sizes = o.sizes.length === 1 ? `${o.sizes[0]} B` : `${o.sizes.join('/')} B`;
  const warm = o.warmupMs > 0 ? ` after ${o.warmupMs / 1000} s warm-up` : '';
  return `echolot load: ${result.mode} mode against ${where}, ${o.flows} flow${o.flows === 1 ? '' : 's'}, ${sizes}, ${shape}, ${(result.durationMs / 1000).toFixed(1)} s${warm}, i/o ${result.ioPath}\n`;
}

/** Who lost the datagrams, in words: the generator's own drops are never blamed on the server. */
export function renderLossAttribution(result: LoadResult): string {
  const lost = result.counters.lost;
  const { generator, networkOrServer } = result.lossAttribution;
  if (lost === 0 && generator === 0) return 'lost 0';
  const parts: string[] = [];
  if (generator > 0)
    parts.push(`generator's own sockets dropped ${formatCount(generator)}: not the server's`);
  if (networkOrServer > 0) parts.push(`${formatCount(networkOrServer)} lost in the network or by the server`);
  if (parts.length === 0) parts.push('not attributed');
  // Foreign datagrams filled the generator's buffers: why its drops are not (all) its loss.
  const note = result.lossAttribution.note;
  if (note !== undefined) parts.push(note);
  const pct =
    result.counters.sent === 0 ? '' : `, ${formatPercent((lost / result.counters.sent) * 100)} of sent`;
  return `lost ${formatCount(lost)}${pct} (${parts.join('; ')})`;
}

/** The generator's health line: the bottleneck wording claims no server capacity. */
export function renderGeneratorHealth(result: LoadResult, style: LoadConsoleStyle): string {
  const g = result.generator;
  const lag = result.sendLag.count === 0 ? '' : `, send lag p99 ${formatLatency(result.sendLag.p99)}`;
  if (g.bottleneck) {
    const why = g.reasons.length > 0 ? g.reasons.join('; ') : 'no reason given';
    return paint(style, '33', `the generator was the bottleneck (${why}): no server capacity is claimed`);
  }
  return `generator healthy: socket drops ${formatCount(g.socketDrops)}, host rcvbuf errors ${formatCount(g.rcvbufErrors)}, sndbuf errors ${formatCount(g.sndbufErrors)}${lag}`;
}

/** One line per threshold with a pass/fail mark (Unicode marks only with colour). */
export function renderThresholds(outcomes: readonly ThresholdOutcome[], style: LoadConsoleStyle): string[] {
  if (outcomes.length === 0) return [];
  const width = Math.max(...outcomes.map((o) => o.threshold.source.length));
  return [
    'thresholds:',
    ...outcomes.map((o) => {
      const mark = style.color
        ? paint(style, o.ok ? '32' : '31', o.ok ? '✓' : '✗')
        : o.ok
          ? '[ok]  '
          : '[FAIL]';
      return `  ${mark} ${o.threshold.source.padEnd(width)}  actual ${formatThresholdValue(o.threshold, o.actual)}`;
    }),
  ];
}

/** The closing report of a load run: latency table, rates, counters, loss attribution, generator health, thresholds, run id and report path. */
export function renderLoadResult(
  result: LoadResult,
  outcomes: readonly ThresholdOutcome[],
  style: LoadConsoleStyle,
  report: LoadReportInfo = {},
): string {
  const c = result.counters;
  const lines: string[] = [''];
  lines.push(
    ...table(
      style,
      ['latency', ...LATENCY_COLUMNS.map(([h]) => h)],
      [
        latencyRow('response', result.response),
        latencyRow('service', result.service),
        latencyRow('send lag', result.sendLag),
      ],
    ),
  );
  lines.push(
    `response: from the intended send time (includes any generator stall); service: from the actual send; jitter ${result.counters.unique === 0 ? '-' : formatLatency(result.jitterUs)}`,
    '',
  );
  const achievedLabel = result.generator.bottleneck
    ? 'achieved echoes/s (generator-bound)'
    : 'achieved echoes/s';
  lines.push(
    ...table(
      style,
      ['rates', 'offered/s', achievedLabel, 'sent/s'],
      [
        [
          '',
          result.mode === 'rate' ? formatRate(result.rates.offered) : '-',
          formatRate(result.rates.echoes),
          formatRate(result.rates.sent),
        ],
      ],
    ),
    '',
  );
  lines.push(
    ...table(
      style,
      [
        'counters',
        'sent',
        'received',
        'unique',
        'lost',
        'late',
        'dup',
        'reordered',
        'corrupt',
        'trunc',
        'foreign',
        'icmp',
      ],
      [
        [
          '',
          formatCount(c.sent),
          formatCount(c.received),
          formatCount(c.unique),
          formatCount(c.lost),
          formatCount(c.late),
          formatCount(c.duplicates),
          c.reordered === 0 ? '0' : `${formatCount(c.reordered)} (max ${c.reorderExtentMax})`,
          formatCount(c.corrupted),
          formatCount(c.truncated),
          formatCount(c.foreign),
          formatCount(c.icmpErrors),
        ],
      ],
    ),
    '',
  );
  lines.push(renderLossAttribution(result), renderGeneratorHealth(result, style));
  const gates = renderThresholds(outcomes, style);
  if (gates.length > 0) lines.push('', ...gates);
  if (result.interrupted !== undefined) lines.push('', renderLoadInterrupted(result));
  const outcome = loadOutcome({
    passed: outcomes.every((o) => o.ok),
    generator: result.generator,
    ...(result.interrupted === undefined ? {} : { interrupted: result.interrupted }),
  });
  const colour =
    outcome === 'PASSED' ? '32' : outcome === 'FAILED' || outcome === 'INTERRUPTED' ? '31' : '33';
  lines.push(
    '',
    `${paint(style, colour, outcome)}: ${loadOutcomeReason(outcomes, result.generator.bottleneck)}`,
  );
  lines.push('', `run ${result.runId}${report.loadJson === undefined ? '' : `, report ${report.loadJson}`}`);
  return `${lines.join('\n')}\n`;
}

/** What an interrupted run covers: the reason and the measured time out of the time asked for. */
export function renderLoadInterrupted(result: LoadResult): string {
  return `interrupted by ${result.interrupted ?? 'SIGINT'}: the figures cover ${(result.durationMs / 1000).toFixed(1)} s of the ${(result.options.durationMs / 1000).toFixed(1)} s asked for`;
}

/** The one-line progress shown on a TTY's stderr, rewritten once per interval. */
export function renderProgressLine(interval: IntervalStats): string {
  return `  ${(interval.atMs / 1000).toFixed(1).padStart(6)} s  ${formatRate(interval.echoRate).padStart(9)} echoes/s  sent ${formatCount(interval.sent)}  lost ${formatCount(interval.lost)}  p50 ${formatLatency(interval.p50Us)}  p99 ${formatLatency(interval.p99Us)}  max ${formatLatency(interval.maxUs)}`;
}

/** A gate's mark on the console: colour and sign with colours, text without. */
const GATE_MARK: Record<GateStatus, readonly [string, string, string]> = {
  passed: ['32', '✓', '[ok]  '],
  failed: ['31', '✗', '[FAIL]'],
  error: ['31', '✗', '[ERROR]'],
  'not-run': ['33', '-', '[not run]'],
};

/** One line per load gate of `--suite`: mark, title, then the breached thresholds or the error. */
export function renderGateLine(g: GateRecord, style: LoadConsoleStyle): string {
  const [color, sign, plain] = GATE_MARK[gateStatus(g)];
  const mark = style.color ? paint(style, color, sign) : plain;
  const problem = gateProblem(g);
  const r = g.result;
  const figures = r
    ? `  (${r.mode}: ${formatCount(r.counters.sent)} sent, ${formatRate(r.rates.echoes)}/s echoed, p99 ${r.response.count === 0 ? '-' : formatLatency(r.response.p99)})`
    : '';
  const why =
    problem !== undefined
      ? `\n      ${problem}`
      : g.thresholds
          .filter((t) => !t.ok)
          .map((t) => `\n      breached ${t.threshold}, actual ${formatThresholdActual(t.kind, t.actual)}`)
          .join('');
  return `  ${mark} ${g.title}${figures}${why}\n`;
}
