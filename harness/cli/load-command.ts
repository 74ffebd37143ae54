import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { HarnessError } from '../errors.js';
import { resolveLoadOptions, runLoad, SAFE_RATE_CAP } from '../load/run-load.js';
import { runLoadSuite } from '../load/suite-run.js';
import { renderGateLine } from '../reporters/load-console.js';
import { resolveSearchSettings, runSearch, type SearchSettings } from '../load/search.js';
import {
  evaluateThresholds,
  parseThresholds,
  thresholdsPassed,
  type Threshold,
  type ThresholdOutcome,
} from '../load/thresholds.js';
import {
  renderSearchJson,
  renderSearchResult,
  renderSearchResultLine,
  renderTrialLine,
  renderTrialProgress,
  searchPassed,
} from '../reporters/load-search.js';
import type { Arrival, IntervalStats, LoadMode, LoadOptions } from '../load/types.js';
import { MAX_PAYLOAD_IPV4, MAX_PAYLOAD_IPV6 } from '../protocol/constants.js';
import { PROBE_HEADER_BYTES } from '../protocol/probe-codec.js';
import {
  renderLoadHeader,
  renderLoadResult,
  renderLoadStart,
  renderProgressLine,
} from '../reporters/load-console.js';
import { loadReport, renderIntervalLine, renderLoadJson, renderResultLine } from '../reporters/load-json.js';
import { loadChartAssets } from '../reporters/html-assets.js';
import { renderIndexHtml, type LoadReportInput } from '../reporters/html-report.js';
import { renderLoadAnnotations } from '../reporters/github.js';
import { renderLoadMarkdown } from '../reporters/markdown.js';
import { appendStepSummary, colorEnabled, inGithubActions } from './terminal.js';
import { parseTarget } from '../spec/target.js';
import { parseCommandArgs, parseIntegerOption, stringList } from './args.js';

const HELP = `Usage: echolot load [HOST:PORT] [options]
       echolot load [HOST:PORT] --suite [--report-dir DIR] [--json] [--i-own-the-target]

Loads a UDP echo server with probe datagrams and reports latency, rates and counters.
Without HOST:PORT the reference server is started in a child process on loopback and loaded.
HOST:PORT may be 192.0.2.1:7, [2001:db8::1]:7 or echo.example:7.

Options:
  --mode MODE          ping-pong (closed loop, one outstanding probe per flow), rate (open loop on a
                       fixed schedule; latency from the intended send time), flood (as fast as the
                       window allows) or search (the highest rate meeting --max-loss/--max-p99 with a
                       healthy generator: exponential ramp, binary search, repeats) (default rate)
  --duration TIME      measured time, e.g. 500ms, 10s, 1m (default 10s)
  --warmup TIME        unmeasured time before the measurement (default 0s)
  --rate N             offered datagrams per second over all flows, rate mode; 50000, 50k, 1.5M
                       (default 10k); in search mode the first rate of the ramp (default 1k)
  --arrival KIND       constant or poisson inter-send times, rate mode only (default constant)
  --size BYTES         payload size, or a comma list used round-robin, each ${PROBE_HEADER_BYTES}..${MAX_PAYLOAD_IPV6}
                       (${MAX_PAYLOAD_IPV4} over IPv4) (default 64)
  --flows N            client sockets, each on its own ephemeral port, 1..1024 (default 4)
  --window N           flood: outstanding probes per flow, 1..65536 (default 64)
  --drain TIME         wait for late replies after the last send before counting loss (default 1s)
  --interval TIME      period of the time series, progress and --ndjson lines (default 1s)
  --rcvbuf BYTES       SO_RCVBUF of each flow socket (default: the OS default)
  --max-lag TIME       send-lag p99 above which the generator counts as the bottleneck in rate and
                       search modes, e.g. 500us, 2ms (default 1ms; never below 10% of the send period)
  --workers N          worker threads generating the load, 1..64 and at most --flows; each runs its
                       share of the flows and of the rate with its own histograms, merged at the end
                       (default 1: the main thread)
Search mode (--mode search):
  --max-loss PCT       largest loss of a passing trial, percent of sent, 0..100: 0.1 or 0.1% (default 0.1%)
  --max-p99 TIME       largest headline p99 of a passing trial, e.g. 2ms (default: no bound)
  --trial TIME         measured time of each trial, 100ms..60s (default 1s; --warmup default 250ms and
                       --drain default 250ms apply to each trial)
  --max-rate N         highest rate the search tries (default 1M)
  --max-trials N       most trials in all, 1..200 (default 24)
  --search-time TIME   time budget of the whole search, 1s..1h (default 50s)
  --repeats N          trials repeated at the found rate for the spread, 0..20 (default 2)

  --threshold EXPR     a pass/fail gate, repeatable: p99<2ms, service.p99.9<=500us, max<10ms,
                       loss<0.1%, loss<=0, duplicates==0, reordered<1%, rate>=50k (see docs/load.md).
                       METRIC OP VALUE, OP one of < <= > >= ==:
                       latency p50 p90 p99 p99.9 p99.99 min max mean stdev (headline response time;
                         prefix service. or lag. for service time or send lag), jitter: VALUE needs
                         ns, us, ms or s
                       loss late duplicates reordered corrupted truncated foreign icmp: a count, or a
                         percentage of the datagrams sent (0.1%)
                       rate (achieved echoes/s), sent-rate: per second (50000, 50k, 1.5M)
  --suite              run the load gates of suites/load (each a short load run with its own options
                       and thresholds) under mocha, and write reports/<run-id>/mochawesome.html,
                       summary.json and junit.xml as echolot check does; only --report-dir, --json
                       and --i-own-the-target combine with it
  --json               print the final result (with the thresholds) as JSON to stdout
  --ndjson             print one JSON line per interval to stdout, then the final result line
  --report-dir DIR     where reports/<run-id>/ goes: index.html (latency spectrum, latency over time,
                       achieved vs offered rate, loss vs rate), load.json, intervals.ndjson
                       (default: reports)
  --i-own-the-target   allow more than ${SAFE_RATE_CAP} datagrams/s (and the unpaced flood and ping-pong
                       modes) against a target that is not a loopback address: say so only for a
                       server you own
  -h, --help           this help

Latency is headline response time, measured from the intended send time, so a stalled generator
cannot hide server delay (coordinated omission); service time is measured from the actual send.
Loss the generator's own sockets caused is reported as such, never blamed on the server.

Exit codes: 0 every threshold holds (or none given), 1 a threshold is breached (search: or no rate
passed; --suite: a gate failed), 64 usage error
(bad option, or a rate above the safety cap against a target you have not said you own),
69 target unreachable or unresolvable, 70 internal error (--suite: a gate could not run),
74 the report cannot be written.
`;

const usage = (message: string): HarnessError => new HarnessError('ERR_ECHOLOT_USAGE', message);

const MODES: readonly (LoadMode | 'search')[] = ['ping-pong', 'rate', 'flood', 'search'];
const SEARCH_ONLY = [
  'max-loss',
  'max-p99',
  'trial',
  'max-rate',
  'max-trials',
  'search-time',
  'repeats',
] as const;
const LATENCY_UNITS: Readonly<Record<string, number>> = { ns: 1e-3, us: 1, µs: 1, ms: 1000, s: 1e6 };

/** Parses a latency with a unit (500us, 2ms, 1s) into microseconds. */
export function parseLatencyOption(name: string, raw: string, minUs: number, maxUs: number): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)$/.exec(raw.trim());
  const us = m?.[1] !== undefined && m[2] !== undefined ? Number(m[1]) * (LATENCY_UNITS[m[2]] ?? NaN) : NaN;
  if (!(us >= minUs && us <= maxUs)) {
    throw usage(
      `${name} ${raw}: must be a time with a unit (ns, us, ms, s) in ${minUs}us..${maxUs / 1e6}s, e.g. 500us, 2ms`,
    );
  }
  return Math.round(us);
}

/** Parses a percentage (0.1 or 0.1%) in 0..100. */
export function parsePercentOption(name: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)%?$/.exec(raw.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 100)) throw usage(`${name} ${raw}: must be a percentage in 0..100, e.g. 0.1 or 0.1%`);
  return n;
}
const ARRIVALS: readonly Arrival[] = ['constant', 'poisson'];
const TIME_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration with a unit (500ms, 10s, 1.5m, 1h) into ms; bare 0 is allowed. */
export function parseDurationOption(name: string, raw: string, minMs: number, maxMs: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  const factor =
    m?.[2] === undefined ? (m?.[1] !== undefined && Number(m[1]) === 0 ? 1 : undefined) : TIME_UNITS[m[2]];
  const ms = m && factor !== undefined ? Math.round(Number(m[1]) * factor) : NaN;
  if (!(ms >= minMs && ms <= maxMs)) {
    throw usage(
      `${name} ${raw}: must be a duration with a unit (ms, s, m, h) in ${minMs}ms..${maxMs / 1000}s, e.g. 500ms, 10s, 1m`,
    );
  }
  return ms;
}

/** Parses a rate (50000, 50k, 1.5M) into datagrams per second. */
export function parseRateOption(name: string, raw: string, max: number): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)([kM]?)$/.exec(raw.trim());
  const n = m ? Number(m[1]) * (m[2] === 'k' ? 1000 : m[2] === 'M' ? 1_000_000 : 1) : NaN;
  if (!(n > 0 && n <= max)) {
    throw usage(
      `${name} ${raw}: must be datagrams per second above 0 and at most ${max}, e.g. 50000, 50k, 1.5M`,
    );
  }
  return n;
}

/** Parses `--size` (one size or a comma list; repeated options add up). */
export function parseSizesOption(raws: readonly string[]): number[] {
  const sizes = raws.flatMap((r) => r.split(',')).map((s) => s.trim());
  return sizes.map((s) => {
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!(n >= PROBE_HEADER_BYTES && n <= MAX_PAYLOAD_IPV6)) {
      throw usage(
        `--size ${raws.join(',')}: each size must be an integer in ${PROBE_HEADER_BYTES}..${MAX_PAYLOAD_IPV6} (the probe header needs ${PROBE_HEADER_BYTES} bytes), got '${s}'`,
      );
    }
    return n;
  });
}

/** The one value of a non-repeatable option (the last one wins, like most CLIs). */
const single = (v: string | boolean | (string | boolean)[] | undefined): string | undefined => {
  const list = stringList(v);
  return list[list.length - 1];
};

/** Turns argv into LoadOptions (without onInterval) and the output flags; throws one-line usage errors. */
export function parseLoadArgs(argv: readonly string[]): {
  readonly help: boolean;
  readonly options: LoadOptions;
  readonly thresholds: readonly string[];
  readonly json: boolean;
  readonly ndjson: boolean;
  readonly reportDir: string;
  /** Set in search mode (options.mode is then 'rate', the mode of every trial). */
  readonly search?: SearchSettings;
  /** `--suite`: run the load gates instead of one load. */
  readonly suite: boolean;
} {
  const { values, positionals } = parseCommandArgs('load', argv, {
    mode: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rate: { type: 'string' },
    arrival: { type: 'string' },
    size: { type: 'string', multiple: true },
    flows: { type: 'string' },
    window: { type: 'string' },
    drain: { type: 'string' },
    interval: { type: 'string' },
    rcvbuf: { type: 'string' },
    workers: { type: 'string' },
    'max-lag': { type: 'string' },
    'max-loss': { type: 'string' },
    'max-p99': { type: 'string' },
    trial: { type: 'string' },
    'max-rate': { type: 'string' },
    'max-trials': { type: 'string' },
    'search-time': { type: 'string' },
    repeats: { type: 'string' },
    threshold: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    ndjson: { type: 'boolean' },
    'report-dir': { type: 'string' },
    'i-own-the-target': { type: 'boolean' },
    suite: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const empty = {
    options: {},
    thresholds: [],
    json: false,
    ndjson: false,
    reportDir: 'reports',
    suite: false,
  };
  if (values['help']) return { help: true, ...empty };
  if (positionals.length > 1) {
    throw usage(`load takes one target, got ${positionals.length}: ${positionals.join(' ')}`);
  }
  const target = positionals[0];
  if (target !== undefined) parseTarget(target);

  const str = (k: string): string | undefined => single(values[k]);
  if (values['suite'] === true) {
    const allowed = new Set(['suite', 'report-dir', 'json', 'i-own-the-target']);
    const extra = Object.keys(values).find((k) => !allowed.has(k) && values[k] !== undefined);
    if (extra !== undefined) {
      throw usage(
        `--suite and --${extra}: the gates of suites/load set their own options; only --report-dir, --json and --i-own-the-target combine with --suite`,
      );
    }
  }
  const modeText = str('mode');
  if (modeText !== undefined && !MODES.includes(modeText as LoadMode)) {
    throw usage(`--mode ${modeText}: must be one of ${MODES.join(', ')}`);
  }
  const mode = (modeText ?? 'rate') as LoadMode | 'search';
  const search = mode === 'search';
  for (const only of SEARCH_ONLY) {
    if (str(only) !== undefined && !search) {
      throw usage(`--${only} ${str(only)}: applies to --mode search only, not to --mode ${mode}`);
    }
  }
  if (search && str('duration') !== undefined) {
    throw usage(`--duration ${str('duration')}: in --mode search each trial lasts --trial (default 1s)`);
  }
  if (str('max-lag') !== undefined && mode !== 'rate' && !search) {
    throw usage(`--max-lag ${str('max-lag')}: applies to --mode rate and search only, not to --mode ${mode}`);
  }
  const arrivalText = str('arrival');
  if (arrivalText !== undefined && !ARRIVALS.includes(arrivalText as Arrival)) {
    throw usage(`--arrival ${arrivalText}: must be one of ${ARRIVALS.join(', ')}`);
  }
  for (const only of ['rate', 'arrival'] as const) {
    if (str(only) !== undefined && mode !== 'rate' && !search) {
      throw usage(`--${only} ${str(only)}: applies to --mode rate and search only, not to --mode ${mode}`);
    }
  }
  if (values['json'] === true && values['ndjson'] === true) {
    throw usage('--json and --ndjson: choose one (both print to stdout)');
  }
  const reportDir = str('report-dir') ?? 'reports';
  if (reportDir.trim() === '') throw usage(`--report-dir '${reportDir}': must not be empty`);
  const thresholds = stringList(values['threshold']);
  parseThresholds(thresholds);

  const opt = <T>(key: string, parse: (raw: string) => T): T | undefined => {
    const raw = str(key);
    return raw === undefined ? undefined : parse(raw);
  };
  const durationMs = opt('duration', (r) => parseDurationOption('--duration', r, 100, 24 * 3_600_000));
  const warmupMs = opt('warmup', (r) => parseDurationOption('--warmup', r, 0, 3_600_000));
  const drainMs = opt('drain', (r) => parseDurationOption('--drain', r, 0, 60_000));
  const intervalMs = opt('interval', (r) => parseDurationOption('--interval', r, 100, 60_000));
  const rate = opt('rate', (r) => parseRateOption('--rate', r, 10_000_000));
  const flows = opt('flows', (r) => parseIntegerOption('--flows', r, 1, 1024));
  const window = opt('window', (r) => parseIntegerOption('--window', r, 1, 65_536));
  const rcvbufBytes = opt('rcvbuf', (r) => parseIntegerOption('--rcvbuf', r, 1, 1 << 30));
  const workers = opt('workers', (r) => parseIntegerOption('--workers', r, 1, 64));
  const maxLagUs = opt('max-lag', (r) => parseLatencyOption('--max-lag', r, 1, 60_000_000));
  const maxLossPercent = opt('max-loss', (r) => parsePercentOption('--max-loss', r));
  const maxP99Us = opt('max-p99', (r) => parseLatencyOption('--max-p99', r, 1, 60_000_000));
  const trialMs = opt('trial', (r) => parseDurationOption('--trial', r, 100, 60_000));
  const maxRate = opt('max-rate', (r) => parseRateOption('--max-rate', r, 10_000_000));
  const maxTrials = opt('max-trials', (r) => parseIntegerOption('--max-trials', r, 1, 200));
  const budgetMs = opt('search-time', (r) => parseDurationOption('--search-time', r, 1000, 3_600_000));
  const repeats = opt('repeats', (r) => parseIntegerOption('--repeats', r, 0, 20));
  const sizeRaws = stringList(values['size']);
  const sizes = sizeRaws.length === 0 ? undefined : parseSizesOption(sizeRaws);

  const options: LoadOptions = {
    ...(target === undefined ? {} : { target }),
    mode: search ? 'rate' : mode,
    ...(durationMs === undefined ? {} : { durationMs }),
    ...(warmupMs === undefined ? {} : { warmupMs }),
    ...(rate === undefined ? {} : { rate }),
    ...(arrivalText === undefined ? {} : { arrival: arrivalText as Arrival }),
    ...(sizes === undefined ? {} : { sizes }),
    ...(flows === undefined ? {} : { flows }),
    ...(window === undefined ? {} : { window }),
    ...(drainMs === undefined ? {} : { drainMs }),
    ...(intervalMs === undefined ? {} : { intervalMs }),
    ...(rcvbufBytes === undefined ? {} : { rcvbufBytes }),
    ...(workers === undefined ? {} : { workers }),
    ...(maxLagUs === undefined ? {} : { maxLagUs }),
    ownTarget: values['i-own-the-target'] === true,
  };
  return {
    help: false,
    options,
    thresholds,
    json: values['json'] === true,
    ndjson: values['ndjson'] === true,
    reportDir,
    suite: values['suite'] === true,
    ...(search
      ? {
          search: {
            ...(maxLossPercent === undefined ? {} : { maxLossPercent }),
            ...(maxP99Us === undefined ? {} : { maxP99Us }),
            ...(trialMs === undefined ? {} : { trialMs }),
            ...(maxRate === undefined ? {} : { maxRate }),
            ...(maxTrials === undefined ? {} : { maxTrials }),
            ...(budgetMs === undefined ? {} : { budgetMs }),
            ...(repeats === undefined ? {} : { repeats }),
          },
        }
      : {}),
  };
}

/** `echolot load`: parses options, runs the load, prints progress and the report, writes load.json, returns the exit code. */
export async function loadCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseLoadArgs(argv);
  if (parsed.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed.suite) return suiteCommand(parsed);
  const thresholds = parseThresholds(parsed.thresholds);
  // The engine's own validation, so that every usage error comes before any output.
  resolveLoadOptions(parsed.options);
  if (parsed.search) resolveSearchSettings(parsed.search, parsed.options.rate);
  const machine = parsed.json || parsed.ndjson;
  // Human output goes to stderr when stdout carries JSON, as `echolot check --json` does.
  const human = machine ? process.stderr : process.stdout;
  const style = { color: colorEnabled(human) };
  const progress = process.stderr.isTTY === true;
  let progressShown = false;
  const onInterval = (interval: IntervalStats): void => {
    if (parsed.ndjson) process.stdout.write(renderIntervalLine(interval));
    if (progress) {
      process.stderr.write(`\r\u001b[K${renderProgressLine(interval)}`);
      progressShown = true;
    }
  };
  if (parsed.search) return searchCommand(parsed, thresholds, human, style);
  human.write(renderLoadStart(parsed.options));
  let result;
  try {
    result = await runLoad({ ...parsed.options, onInterval });
  } finally {
    if (progressShown) process.stderr.write('\r\u001b[K');
  }
  const outcomes = evaluateThresholds(result, thresholds);
  const report = loadReport(result, outcomes);
  const files = await writeReport(parsed.reportDir, result.runId, renderLoadJson(result, outcomes), {
    load: report,
    intervals: result.intervals,
  });
  human.write(renderLoadHeader(result));
  human.write(renderLoadResult(result, outcomes, style, { loadJson: files.loadJson }));
  if (inGithubActions()) human.write(renderLoadAnnotations(report));
  await appendStepSummary(renderLoadMarkdown(report, files.indexHtml ?? files.loadJson));
  if (files.indexHtml !== undefined) human.write(`report: ${files.indexHtml}\n`);
  if (parsed.json) process.stdout.write(renderLoadJson(result, outcomes));
  if (parsed.ndjson) process.stdout.write(renderResultLine(result, outcomes));
  return thresholdsPassed(outcomes) ? 0 : 1;
}

/** The paths of a written load report, as the user should see them. */
interface LoadFiles {
  readonly loadJson: string;
  readonly indexHtml?: string;
}

/**
 * Writes `<dir>/<run-id>/load.json` and, when there is a measured run to show, index.html (charts) and
 * intervals.ndjson; a failure is ERR_ECHOLOT_IO (exit 74).
 */
async function writeReport(
  reportDir: string,
  runId: string,
  text: string,
  page?: { readonly load: LoadReportInput; readonly intervals: readonly IntervalStats[] },
): Promise<LoadFiles> {
  const dir = resolve(reportDir, runId);
  const file = join(dir, 'load.json');
  const indexHtml = join(dir, 'index.html');
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(file, text);
    if (page !== undefined) {
      await writeFile(join(dir, 'intervals.ndjson'), page.intervals.map(renderIntervalLine).join(''));
      const links = [
        { label: 'load.json', href: 'load.json' },
        { label: 'intervals.ndjson', href: 'intervals.ndjson' },
      ];
      await writeFile(indexHtml, renderIndexHtml({ load: page.load, links }, await loadChartAssets()));
    }
  } catch (err) {
    throw new HarnessError('ERR_ECHOLOT_IO', `--report-dir ${reportDir}: cannot write ${dir}`, {
      cause: err,
    });
  }
  const rel = (p: string): string =>
    relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p);
  return { loadJson: rel(file), ...(page === undefined ? {} : { indexHtml: rel(indexHtml) }) };
}

/** `echolot load --mode search`: one line per trial as it ends, then the search report; exit 1 when no rate passed or a threshold fails. */
async function searchCommand(
  parsed: ReturnType<typeof parseLoadArgs>,
  thresholds: readonly Threshold[],
  human: NodeJS.WriteStream,
  style: { color: boolean },
): Promise<number> {
  const where = parsed.options.target ?? 'the embedded reference server';
  human.write(`echolot load: search mode against ${where}...\n`);
  const result = await runSearch(parsed.options, parsed.search ?? {}, (trial) => {
    human.write(renderTrialProgress(trial));
    if (parsed.ndjson) process.stdout.write(renderTrialLine(trial));
  });
  const outcomes: ThresholdOutcome[] = result.final
    ? evaluateThresholds(result.final, thresholds)
    : thresholds.map((threshold) => ({ threshold, actual: NaN, ok: false }));
  // The page shows the final trial's run, with every trial on the rate charts.
  const files = await writeReport(
    parsed.reportDir,
    result.runId,
    renderSearchJson(result, outcomes),
    result.final === undefined
      ? undefined
      : {
          load: {
            ...loadReport(result.final, outcomes),
            trials: result.trials.map((t) => ({
              offered: t.offered,
              achieved: t.achieved,
              lossPercent: t.lossPercent,
              ...(t.p99Us === null ? {} : { p99Us: t.p99Us }),
            })),
          },
          intervals: result.final.intervals,
        },
  );
  human.write(renderSearchResult(result, outcomes, style, { loadJson: files.loadJson }));
  if (files.indexHtml !== undefined) human.write(`report: ${files.indexHtml}\n`);
  if (parsed.json) process.stdout.write(renderSearchJson(result, outcomes));
  if (parsed.ndjson) process.stdout.write(renderSearchResultLine(result, outcomes));
  return searchPassed(result, outcomes) ? 0 : 1;
}

/** `echolot load --suite`: the load gates under mocha, one line per gate, then the report paths. */
async function suiteCommand(parsed: ReturnType<typeof parseLoadArgs>): Promise<number> {
  const human = parsed.json ? process.stderr : process.stdout;
  const color = human.isTTY === true && !process.env['NO_COLOR'];
  const where = parsed.options.target ?? 'the embedded reference server';
  human.write(`echolot load --suite: load gates of suites/load against ${where}\n`);
  const run = await runLoadSuite({
    ...(parsed.options.target === undefined ? {} : { target: parsed.options.target }),
    reportDir: parsed.reportDir,
    ownTarget: parsed.options.ownTarget === true,
    onGate: (g) => human.write(renderGateLine(g, { color })),
  });
  const rel = (p: string): string =>
    relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p);
  const passed = run.gates.filter((g) => g.passed).length;
  human.write(
    `\n${passed}/${run.gates.length} gates passed in ${(run.durationMs / 1000).toFixed(1)} s, run ${run.runId}\n` +
      `reports: ${rel(run.files.mochawesomeHtml)}\n         ${rel(run.files.summaryJson)}\n         ${rel(run.files.junitXml)}\n`,
  );
  if (parsed.json) process.stdout.write(await readFile(run.files.summaryJson, 'utf8'));
  return run.exitCode;
}
