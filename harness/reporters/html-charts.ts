import type { IntervalStats, LatencySummary, LoadResult } from '../load/types.js';

/** One trial of a search-mode load run: the rate offered, the echo rate achieved, the loss and (when measured) p99. */
export interface LoadTrial {
  /** Offered datagrams per second. */
  readonly offered: number;
  /** Achieved (unique) echoes per second. */
  readonly achieved: number;
  /** Lost datagrams, percent of those sent. */
  readonly lossPercent: number;
  readonly p99Us?: number;
}

/** How a chart labels an axis's tick values. */
export type AxisFormat = 'percentile' | 'seconds' | 'rate' | 'latency' | 'percent';

/** One series of a chart; `reference` series (an ideal line) do not count as data. */
export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  /** Draw a line through the points (else points only). */
  readonly line: boolean;
  readonly reference?: boolean;
  /** Dash pattern of the line (px on, px off); absent: solid. A reference line is dashed anyway. */
  readonly dash?: readonly number[];
}

/** One axis: label, tick format, log scale, and optionally a fixed range. */
export interface ChartAxis {
  readonly label: string;
  readonly format: AxisFormat;
  readonly log: boolean;
  readonly min?: number;
  readonly max?: number;
  /** Where the ticks go (absent: where the chart library puts them). */
  readonly splits?: readonly number[];
}

/** A chart as data: uPlot's aligned columns (x first, one column per series, null where a series has no point). */
export interface ChartSpec {
  /** Stable id, also the `data-chart` attribute of its container. */
  readonly id: string;
  readonly title: string;
  /** One sentence under the title: what the chart shows and where the numbers come from. */
  readonly caption: string;
  readonly x: ChartAxis;
  readonly y: ChartAxis;
  readonly series: readonly ChartSeries[];
  readonly data: readonly (readonly (number | null)[])[];
  /** Points of the data series (reference series excluded): 0 means the chart is empty. */
  readonly points: number;
}

const COLORS = {
  response: '#1f6feb',
  service: '#bc4c00',
  p50: '#1a7f37',
  p99: '#bf8700',
  max: '#cf222e',
  intervals: '#1f6feb',
  trials: '#cf222e',
  ideal: '#8c959f',
} as const;

/** Log axes cannot show 0: latencies are clamped to 1 us (the histogram's resolution is no finer). */
const floorUs = (us: number): number => Math.max(1, us);

/** Percentile p (0..100) as the x of a percentile spectrum: 1/(1-p), so 90% is 10, 99% is 100. */
const spectrumX = (p: number): number => 1 / (1 - p / 100);

/** The x of the maximum: one decade beyond p99.99. */
const SPECTRUM_MAX_X = 100_000;

/** The spectrum's ticks: min, p50, p90, p99, p99.9, p99.99, max (each a point of the series). */
export const SPECTRUM_SPLITS: readonly number[] = [
  spectrumX(0),
  spectrumX(50),
  10,
  100,
  1000,
  10_000,
  SPECTRUM_MAX_X,
];

/** Builds aligned columns from point sets that do not share x values: one row per point, sorted by x. */
function align(sets: readonly (readonly (readonly [number, number])[])[]): (number | null)[][] {
  const rows = sets
    .flatMap((points, s) => points.map(([x, y]) => ({ x, y, s })))
    .sort((a, b) => a.x - b.x || a.s - b.s);
  const xs = rows.map((r) => r.x);
  const ys = sets.map((_, s) => rows.map((r) => (r.s === s ? r.y : null)));
  return [xs, ...ys];
}

const countPoints = (data: readonly (readonly (number | null)[])[], series: readonly ChartSeries[]): number =>
  series.reduce(
    (n, s, i) =>
      s.reference ? n : n + (data[i + 1] ?? []).filter((v) => v !== null && Number.isFinite(v)).length,
    0,
  );

function spectrumPoints(l: LatencySummary): [number, number][] {
  if (l.count === 0) return [];
  return [
    [spectrumX(0), floorUs(l.min)],
    [spectrumX(50), floorUs(l.p50)],
    [spectrumX(90), floorUs(l.p90)],
    [spectrumX(99), floorUs(l.p99)],
    [spectrumX(99.9), floorUs(l.p999)],
    [spectrumX(99.99), floorUs(l.p9999)],
    [SPECTRUM_MAX_X, floorUs(l.max)],
  ];
}

/** The interval's length in seconds: the last interval may be cut short by the end of the measurement. */
function spanSeconds(result: LoadResult, i: IntervalStats): number {
  const intervalMs = result.options.intervalMs;
  return Math.max(1e-3, Math.min(intervalMs, result.options.durationMs - i.atMs) / 1000);
}

/** Per interval: offered (sent per second), achieved (unique echoes per second), loss percent. */
export function intervalRates(
  result: LoadResult,
): { readonly offered: number; readonly achieved: number; readonly lossPercent: number }[] {
  return result.intervals
    .filter((i) => i.sent > 0)
    .map((i) => ({
      offered: i.sent / spanSeconds(result, i),
      achieved: i.echoRate,
      lossPercent: (100 * i.lost) / i.sent,
    }));
}

/**
 * The four charts of a load run: the latency percentile spectrum (log-log), latency over time
 * (p50/p99/max per interval), achieved vs offered rate and loss vs offered rate. The rate charts
 * plot the interval series and, when present, the trials of a search.
 */
export function loadCharts(result: LoadResult & { readonly trials?: readonly LoadTrial[] }): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const trials = result.trials ?? [];

  const specSeries: ChartSeries[] = [
    // Two colours and a dash, so the series stay apart in print, in grey and where they overlap.
    { label: 'response time', color: COLORS.response, line: true },
    { label: 'service time', color: COLORS.service, line: true, dash: [8, 4] },
  ];
  const specData = align([spectrumPoints(result.response), spectrumPoints(result.service)]);
  charts.push({
    id: 'latency-spectrum',
    title: 'Latency percentile spectrum',
    caption:
      'Latency at each percentile (log scales): response time from the intended send, service time from the actual send.',
    x: { label: 'percentile', format: 'percentile', log: true, splits: SPECTRUM_SPLITS },
    y: { label: 'latency', format: 'latency', log: true },
    series: specSeries,
    data: specData,
    points: countPoints(specData, specSeries),
  });

  const timed = result.intervals.filter((i) => i.received > 0 || i.sent > 0);
  const timeSeries: ChartSeries[] = [
    { label: 'p50', color: COLORS.p50, line: true },
    { label: 'p99', color: COLORS.p99, line: true },
    { label: 'max', color: COLORS.max, line: true },
  ];
  // An interval without a reply has no latency: null leaves a gap instead of a false zero.
  const lat = (i: IntervalStats, us: number): number | null => (i.sent - i.lost > 0 ? floorUs(us) : null);
  // Each interval's figures are plotted at its end (the last one may be cut short by the end of the
  // measurement), so the series reaches the end of the run; the axis spans the whole measurement.
  const endS = (i: IntervalStats): number =>
    Math.min(i.atMs + result.options.intervalMs, Math.max(i.atMs, result.durationMs)) / 1000;
  const timeData = [
    timed.map(endS),
    timed.map((i) => lat(i, i.p50Us)),
    timed.map((i) => lat(i, i.p99Us)),
    timed.map((i) => lat(i, i.maxUs)),
  ];
  charts.push({
    id: 'latency-over-time',
    title: 'Latency over time',
    caption: `Response time per ${result.options.intervalMs / 1000} s interval (log scale).`,
    x: {
      label: 'time since start of measurement',
      format: 'seconds',
      log: false,
      ...(result.durationMs > 0 ? { min: 0, max: result.durationMs / 1000 } : {}),
    },
    y: { label: 'latency', format: 'latency', log: true },
    series: timeSeries,
    data: timeData,
    points: countPoints(timeData, timeSeries),
  });

  const rates = intervalRates(result);
  // The rate axes reach the offered rate (a rate run's target), also when no interval quite made it.
  const offered = result.mode === 'rate' ? result.options.rate : 0;
  const top = Math.max(0, offered, ...rates.map((r) => r.offered), ...trials.map((t) => t.offered));
  const topY = Math.max(top, ...rates.map((r) => r.achieved), ...trials.map((t) => t.achieved));
  // The trials series exists only when a search ran, so an ordinary run's legend has no empty entry.
  const trialSeries: ChartSeries[] =
    trials.length > 0 ? [{ label: 'search trials', color: COLORS.trials, line: trials.length > 1 }] : [];
  const trialSets = trials.length > 0 ? [trials] : [];
  const rateSeries: ChartSeries[] = [
    { label: 'intervals', color: COLORS.intervals, line: false },
    ...trialSeries,
    { label: 'achieved = offered', color: COLORS.ideal, line: true, reference: true },
  ];
  const rateData = align([
    rates.map((r) => [r.offered, r.achieved] as const),
    ...trialSets.map((ts) => ts.map((t) => [t.offered, t.achieved] as const)),
    top > 0
      ? [
          [0, 0],
          [top, top],
        ]
      : [],
  ]);
  charts.push({
    id: 'achieved-vs-offered',
    title: 'Achieved vs offered rate',
    caption:
      'Unique echoes per second against datagrams sent per second, per interval' +
      (trials.length > 0 ? ' and per search trial' : '') +
      '; points below the grey line are rate the server did not answer.',
    // Both axes from 0 to the same top, so that the y = x line is the diagonal and stays in view.
    x: {
      label: 'offered (sent/s)',
      format: 'rate',
      log: false,
      ...(top > 0 ? { min: 0, max: top * 1.05 } : {}),
    },
    y: {
      label: 'achieved (echoes/s)',
      format: 'rate',
      log: false,
      ...(top > 0 ? { min: 0, max: topY * 1.05 } : {}),
    },
    series: rateSeries,
    data: rateData,
    points: countPoints(rateData, rateSeries),
  });

  const lossSeries: ChartSeries[] = [
    { label: 'intervals', color: COLORS.intervals, line: false },
    ...trialSeries,
  ];
  const lossData = align([
    rates.map((r) => [r.offered, r.lossPercent] as const),
    ...trialSets.map((ts) => ts.map((t) => [t.offered, t.lossPercent] as const)),
  ]);
  charts.push({
    id: 'loss-vs-rate',
    title: 'Loss vs offered rate',
    caption:
      'Datagrams not answered, percent of those sent, per interval' +
      (trials.length > 0 ? ' and per search trial' : '') +
      '.',
    x: {
      label: 'offered (sent/s)',
      format: 'rate',
      log: false,
      ...(top > 0 ? { min: 0, max: top * 1.05 } : {}),
    },
    y: { label: 'loss', format: 'percent', log: false },
    series: lossSeries,
    data: lossData,
    points: countPoints(lossData, lossSeries),
  });
  return charts;
}
