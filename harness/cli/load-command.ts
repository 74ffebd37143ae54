import { join } from 'node:path';
import { HarnessError, throwIfProblems } from '../errors.js';
import { newRunId } from '../core/run-id.js';
import { byteRateText, runLoad, runLoadDetailed, SAFE_BYTE_CAP, SAFE_RATE_CAP } from '../load/run-load.js';
import {
  MAX_SHARDS,
  planShard,
  renderShardDocument,
  shardDocument,
  shardRunProblems,
  type ShardSpec,
} from '../load/shard.js';
import { notStartedSuite, runLoadSuite } from '../runner/load-suite-run.js';
import { unreachableTarget } from '../target/acquire.js';
import { renderGateLine } from '../reporters/load-console.js';
import {
  resolveLoadPlan,
  runSearch,
  SEARCH_LIMITS,
  type LoadPlan,
  type SearchSettings,
} from '../load/search.js';
import { LOAD_LIMITS, type PlanMode } from '../load/options.js';
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
import type { Arrival, IntervalStats, LoadOptions } from '../load/types.js';
import { MAX_PAYLOAD_IPV4 } from '../protocol/constants.js';
import {
  renderLoadHeader,
  renderLoadResult,
  renderLoadStart,
  renderProgressLine,
} from '../reporters/load-console.js';
import { loadReport, renderIntervalLine, renderLoadJson, renderResultLine } from '../reporters/load-json.js';
import { renderLoadAnnotations, renderNotStartedAnnotation } from '../reporters/github.js';
import { renderLoadMarkdown } from '../reporters/markdown.js';
import { appendStepSummary, colorEnabled, displayPath, inGithubActions, statusLine } from './terminal.js';
import { loadSuiteReport } from '../report/load-suite.js';
import {
  prepareReportDir,
  writeDocument,
  writeReport as writeReportFiles,
  type Report,
} from '../report/write.js';
import { fileProblem } from '../core/writable.js';
import { loadRunReport } from '../report/load.js';
import { renderLoadSuiteSummary } from '../reporters/load-suite.js';
import { parseTarget } from '../target/target.js';
import { interruptReason, signalExitCode } from '../core/exit-signal.js';
import { integerValue, parseCommandArgs, stringList, type OptionTable, type CommandSpec } from './args.js';
import {
  flagText,
  inCommandTerms,
  toCommandError,
  msText,
  percentText,
  rateText,
  usText,
  type FieldFlags,
  type FlagText,
} from './field-flags.js';

/** A range as the help shows it: 100ms..24h. */
const span = (range: readonly [number, number], text: (n: number) => string): string =>
  `${text(range[0])}..${text(range[1])}`;

export const HELP = `Usage: echolot load [HOST:PORT] [options]
       echolot load [HOST:PORT] --suite [--report-dir DIR] [--json] [--i-own-the-target] [--no-preflight]

Loads a UDP echo server with probe datagrams and reports latency, rates and counters.
Without HOST:PORT the reference server is started in a child process on loopback and loaded.
HOST:PORT may be 192.0.2.1:7, [2001:db8::1]:7 or echo.example:7. A given target is preflighted
first, as by echolot check: one that does not answer ends the command with one diagnosis (exit 69),
e.g. "nothing listens on udp/7 at 192.0.2.1 (ICMP port unreachable)", before any load.

Options:
  --mode MODE          ping-pong (closed loop, one outstanding probe per flow), rate (open loop on a
                       fixed schedule; latency from the intended send time), flood (as fast as the
                       window allows) or search (the highest rate meeting --max-loss/--max-p99 with a
                       healthy generator: exponential ramp, binary search, repeats) (default rate)
  -d, --duration TIME  measured time, ${span(LOAD_LIMITS.durationMs, msText)}, e.g. 500ms, 10s, 1m (default 10s)
  --warmup TIME        unmeasured time before the measurement, ${span(LOAD_LIMITS.warmupMs, msText)} (default 0s)
  -r, --rate N         offered datagrams per second over all flows, rate mode; 50000, 50k, 1.5M,
                       at most ${rateText(LOAD_LIMITS.rate[1])} (default 10k); in search mode the first rate of the ramp
                       (default 1k)
  --arrival KIND       constant or poisson inter-send times, rate and search modes only (default constant)
  --size BYTES         payload size, or a comma list used round-robin, each ${span(LOAD_LIMITS.sizes, String)}
                       (${MAX_PAYLOAD_IPV4} over IPv4) (default 64)
  -c, --flows N        client sockets, each on its own ephemeral port, ${span(LOAD_LIMITS.flows, String)} (default 4)
  --window N           flood only: outstanding probes per flow, ${span(LOAD_LIMITS.window, String)} (default 64)
  --drain TIME         wait for late replies after the last send before counting loss, ${span(LOAD_LIMITS.drainMs, msText)}
                       (default 1s)
  --interval TIME      period of the time series, progress and --ndjson lines, ${span(LOAD_LIMITS.intervalMs, msText)}
                       (default 1s)
  --rcvbuf BYTES       SO_RCVBUF of each flow socket (default: the OS default)
  --max-lag TIME       send-lag p99 above which the generator counts as the bottleneck in rate and
                       search modes only, ${span(LOAD_LIMITS.maxLagUs, usText)}, e.g. 500us, 2ms (default 1ms; never below
                       10% of the send period)
  --workers N          worker threads generating the load, ${span(LOAD_LIMITS.workers, String)} and at most --flows; each runs its
                       share of the flows and of the rate with its own histograms, merged at the end
                       (default 1: the main thread)
Search mode (--mode search):
  --max-loss PCT       largest loss of a passing trial, percent of sent, ${span(SEARCH_LIMITS.maxLossPercent, String)}: 0.1 or 0.1% (default 0.1%)
  --max-p99 TIME       largest headline p99 of a passing trial, ${span(SEARCH_LIMITS.maxP99Us, usText)}, e.g. 2ms (default: no bound)
  --trial TIME         measured time of each trial, ${span(SEARCH_LIMITS.trialMs, msText)} (default 1s; --warmup default 250ms and
                       --drain default 250ms apply to each trial)
  --max-rate N         highest rate the search tries, at most ${rateText(SEARCH_LIMITS.maxRate[1])} (default 1M)
  --max-trials N       most trials in all, ${span(SEARCH_LIMITS.maxTrials, String)} (default 24)
  --search-time TIME   time budget of the whole search, ${span(SEARCH_LIMITS.budgetMs, msText)} (default 50s)
  --repeats N          trials repeated at the found rate for the spread, ${span(SEARCH_LIMITS.repeats, String)} (default 2)

Distributed runs (several processes or hosts, one run; merge the shards with echolot merge):
  --shard I/N          run shard I (0-based) of N: 1/N of --rate and of --flows (at least one flow
                       each), its sends in phase with the other shards' (constant arrivals: offset by
                       I/N of the send period; poisson: its own seed from the run id and I), so that the
                       merged arrivals are the plan's; not with --mode search
  --shards N           as --shard I/N with I from the environment variable JOB_COMPLETION_INDEX (set by
                       a Kubernetes Indexed Job)
  --run-id ID          the run id, shared by every shard of a run: letters, digits, . _ -, up to 128
                       (default: a new one; shards started separately must all be given the same
                       --run-id, or echolot merge refuses them)
  --start-at TIME      start at this time by this host's clock (keep hosts NTP/PTP-synced): ISO 8601
                       with a zone (2026-12-06T10:00:00Z) or epoch milliseconds; not more than 24h
                       ahead, nor in the past by more than the run lasts
  --out FILE           write the complete result (histograms, interval series with absolute times,
                       counters, the generator's health) as a shard document for echolot merge; - is
                       stdout (the console report then goes to stderr)

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
                       --i-own-the-target and --no-preflight combine with it
  --json               print the final result (with the thresholds) as JSON to stdout
  --ndjson             print one JSON line per interval to stdout, then the final result line
  --report-dir DIR     where reports/<run-id>/ goes: index.html (latency spectrum, latency over time,
                       achieved vs offered rate, loss vs rate), load.json, intervals.ndjson, and
                       for a run (not a search) junit.xml and summary.json (CTRF): one test per
                       --threshold (default: reports)
  --no-preflight       load the target even when it does not answer the preflight
  --i-own-the-target   against a target that is not a loopback address, allow more than
                       ${SAFE_RATE_CAP} packets/s or ${byteRateText(SAFE_BYTE_CAP)} on the wire (every IP fragment counted:
                       a 65507-byte datagram is 45 packets at MTU 1500), the unpaced flood and
                       ping-pong modes, and search: say so only for a server you own
  -h, --help           this help

Latency is headline response time, measured from the intended send time, so a stalled generator
cannot hide server delay (coordinated omission); service time is measured from the actual send.
Loss the generator's own sockets caused is reported as such, never blamed on the server.

Examples:
  echolot load                                   the reference server, 10k/s for 10s
  echolot load 127.0.0.1:9007 -d 30s -r 50k -c 8 --threshold 'p99<2ms' --threshold 'loss<0.1%'
  echolot load '[::1]:9007' --mode ping-pong -d 5s
  echolot load 127.0.0.1:9007 --mode search --max-loss 0.1% --max-p99 2ms
  echolot load 127.0.0.1:9007 --size 64,512,1400 --ndjson > intervals.ndjson
  echolot load --suite                           the load gates of suites/load
  echolot load 127.0.0.1:9007 -r 100k --shard 0/2 --run-id nightly-42 --out shard-0.json

Exit codes: 0 every threshold holds (or none given), 1 a threshold is breached (search: or no rate
passed; --suite: a gate failed), 64 usage error
(bad option, or a rate above the safety cap against a target you have not said you own; --shards
without a valid JOB_COMPLETION_INDEX),
69 target unreachable at preflight or unresolvable, 70 internal error (--suite: a gate could not run),
74 the report (or --out) cannot be written, 130 (SIGINT, Ctrl-C) or 143 (SIGTERM) interrupted: sending
stops, what was measured so far is printed and written, marked interrupted (a search keeps the trials
it finished, --suite the gates it judged); a second signal quits at once.
`;

const usage = (message: string): HarnessError => new HarnessError('ERR_ECHOLOT_USAGE', message);

/** The options of `echolot load`, as util.parseArgs takes them. */
export const OPTIONS: OptionTable = {
  mode: { type: 'string' },
  duration: { type: 'string', short: 'd' },
  warmup: { type: 'string' },
  rate: { type: 'string', short: 'r' },
  arrival: { type: 'string' },
  size: { type: 'string', multiple: true },
  flows: { type: 'string', short: 'c' },
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
  'no-preflight': { type: 'boolean' },
  shard: { type: 'string' },
  shards: { type: 'string' },
  'run-id': { type: 'string' },
  'start-at': { type: 'string' },
  out: { type: 'string' },
  suite: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** load's options and help, for `echolot help` and `echolot completion`. */
export const LOAD_COMMAND: CommandSpec = { options: OPTIONS, help: HELP };

/** Which flag sets each field of a LoadPlan (the library's problems name fields; the user typed flags). */
const FIELD_FLAGS: FieldFlags = {
  target: { flag: 'target' },
  mode: { flag: '--mode' },
  durationMs: { flag: '--duration', unit: msText },
  warmupMs: { flag: '--warmup', unit: msText },
  rate: { flag: '--rate', unit: rateText },
  arrival: { flag: '--arrival' },
  sizes: { flag: '--size' },
  flows: { flag: '--flows' },
  window: { flag: '--window' },
  drainMs: { flag: '--drain', unit: msText },
  intervalMs: { flag: '--interval', unit: msText },
  rcvbufBytes: { flag: '--rcvbuf' },
  workers: { flag: '--workers' },
  maxLagUs: { flag: '--max-lag', unit: usText },
  ownTarget: { flag: '--i-own-the-target' },
  preflight: { flag: '--no-preflight' },
  thresholds: { flag: '--threshold', repeated: true, quoted: true },
  'search.maxLossPercent': { flag: '--max-loss', unit: percentText },
  'search.maxP99Us': { flag: '--max-p99', unit: usText },
  'search.trialMs': { flag: '--trial', unit: msText },
  'search.startRate': { flag: '--rate', unit: rateText },
  'search.maxRate': { flag: '--max-rate', unit: rateText },
  'search.maxTrials': { flag: '--max-trials' },
  'search.budgetMs': { flag: '--search-time', unit: msText },
  'search.repeats': { flag: '--repeats' },
  runId: { flag: '--run-id' },
  startAtEpochMs: { flag: '--start-at' },
  shard: { flag: '--shard' },
  'shard.index': { flag: '--shard' },
  'shard.count': { flag: '--shard' },
};

const LATENCY_UNITS: Readonly<Record<string, number>> = { ns: 1e-3, us: 1, µs: 1, ms: 1000, s: 1e6 };

/** Parses a latency with a unit (500us, 2ms, 1s) into whole microseconds; the range is the library's to judge. */
export function parseLatencyOption(name: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)$/.exec(raw.trim());
  const us = m?.[1] !== undefined && m[2] !== undefined ? Number(m[1]) * (LATENCY_UNITS[m[2]] ?? NaN) : NaN;
  if (!Number.isFinite(us)) {
    throw usage(`${name} ${raw}: must be a time with a unit (ns, us, ms, s), e.g. 500us, 2ms`);
  }
  return Math.round(us);
}

/** Parses a percentage (0.1 or 0.1%). */
export function parsePercentOption(name: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)%?$/.exec(raw.trim());
  if (!m) throw usage(`${name} ${raw}: must be a percentage, e.g. 0.1 or 0.1%`);
  return Number(m[1]);
}

const TIME_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration with a unit (500ms, 10s, 1.5m, 1h) into whole ms; bare 0 is allowed. */
export function parseDurationOption(name: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  const factor =
    m?.[2] === undefined ? (m?.[1] !== undefined && Number(m[1]) === 0 ? 1 : undefined) : TIME_UNITS[m[2]];
  if (!m || factor === undefined) {
    throw usage(`${name} ${raw}: must be a duration with a unit (ms, s, m, h), e.g. 500ms, 10s, 1m`);
  }
  return Math.round(Number(m[1]) * factor);
}

/** Parses a rate (50000, 50k, 1.5M) into datagrams per second. */
export function parseRateOption(name: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)([kM]?)$/.exec(raw.trim());
  if (!m) throw usage(`${name} ${raw}: must be datagrams per second, e.g. 50000, 50k, 1.5M`);
  return Number(m[1]) * (m[2] === 'k' ? 1000 : m[2] === 'M' ? 1_000_000 : 1);
}

/** Parses `--size` (one size or a comma list; repeated options add up). */
export function parseSizesOption(raws: readonly string[]): number[] {
  const sizes = raws.flatMap((r) => r.split(',')).map((s) => s.trim());
  return sizes.map((s) => {
    if (!/^\d+$/.test(s)) {
      throw usage(`--size ${raws.join(',')}: each size must be a whole number of bytes, got '${s}'`);
    }
    return Number(s);
  });
}

/** The one value of a non-repeatable option (the last one wins, like most CLIs). */
const single = (v: string | boolean | (string | boolean)[] | undefined): string | undefined => {
  const list = stringList(v);
  return list[list.length - 1];
};

/** `echolot load`'s command line as values: the plan for the library, and the output flags. */
export interface LoadArgs {
  readonly help: boolean;
  /** The run or search to make (without onInterval), checked by the library before anything runs. */
  readonly plan: LoadPlan;
  /** What the user typed for each flag, so that problems can quote it. */
  readonly text: FlagText;
  readonly thresholds: readonly string[];
  readonly json: boolean;
  readonly ndjson: boolean;
  readonly reportDir: string;
  /** `--suite`: run the load gates instead of one load. */
  readonly suite: boolean;
  /** `--shard`/`--shards`, `--run-id`, `--start-at`, `--out`: set when any of them is given. */
  readonly distributed?: DistributedArgs;
}

/** A load run that is (or may be) a shard of a distributed run. */
export interface DistributedArgs {
  readonly shard?: ShardSpec;
  readonly runId?: string;
  readonly startAtEpochMs?: number;
  /** `--out`: a path, or `-` for stdout. */
  readonly out?: string;
}

/** Parses `--start-at`: ISO 8601 with a zone, or epoch milliseconds. */
export function parseStartAtOption(raw: string): number {
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
  const ms = iso.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) {
    throw usage(
      `--start-at ${raw}: must be an ISO 8601 time with a zone (2026-12-06T10:00:00Z, 2026-12-06T11:00+01:00) or epoch milliseconds`,
    );
  }
  return ms;
}

/**
 * The shard from `--shard I/N`, or from `--shards N` and JOB_COMPLETION_INDEX (as a Kubernetes Indexed
 * Job sets it); undefined when neither is given.
 */
export function parseShardOptions(
  shard: string | undefined,
  shards: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ShardSpec | undefined {
  if (shard !== undefined && shards !== undefined) {
    throw usage(
      `--shard ${shard} and --shards ${shards}: choose one (--shards takes the index from JOB_COMPLETION_INDEX)`,
    );
  }
  if (shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(shard.trim());
    if (!m)
      throw usage(`--shard ${shard}: must be I/N, the 0-based shard index and the shard count, e.g. 0/4`);
    const index = Number(m[1]);
    const count = Number(m[2]);
    if (count >= 1 && index >= count) {
      throw usage(
        `--shard ${shard}: the index must be below the count (0-based: 0/${count} .. ${count - 1}/${count})`,
      );
    }
    return { index, count };
  }
  if (shards === undefined) return undefined;
  const count = integerValue(shards);
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw usage(`--shards ${shards}: must be an integer in 1..${MAX_SHARDS}`);
  }
  const raw = env['JOB_COMPLETION_INDEX'];
  if (raw === undefined || raw === '') {
    throw usage(
      `--shards ${shards}: the environment variable JOB_COMPLETION_INDEX is not set (a Kubernetes Indexed Job sets it; elsewhere use --shard I/${count})`,
    );
  }
  const index = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(index) || index >= count) {
    throw usage(
      `--shards ${shards}: JOB_COMPLETION_INDEX ${JSON.stringify(raw)} must be an integer in 0..${count - 1}`,
    );
  }
  return { index, count };
}

/**
 * Turns argv into values and has the library judge them (resolveLoadPlan), every problem put in the
 * command's words (flag and the user's text); throws one-line usage errors.
 */
export function parseLoadArgs(argv: readonly string[]): LoadArgs {
  const { values, positionals } = parseCommandArgs('load', argv, OPTIONS);
  const empty = {
    plan: {},
    text: new Map<string, string>(),
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
    const allowed = new Set(['suite', 'report-dir', 'json', 'i-own-the-target', 'no-preflight']);
    const extra = Object.keys(values).find((k) => !allowed.has(k) && values[k] !== undefined);
    if (extra !== undefined) {
      throw usage(
        `--suite and --${extra}: the gates of suites/load set their own options; only --report-dir, --json, --i-own-the-target and --no-preflight combine with --suite`,
      );
    }
  }
  if (values['json'] === true && values['ndjson'] === true) {
    throw usage('--json and --ndjson: choose one (both print to stdout)');
  }
  if (str('out') === '-' && (values['json'] === true || values['ndjson'] === true)) {
    throw usage(
      `--out - and --${values['json'] === true ? 'json' : 'ndjson'}: choose one (both print to stdout)`,
    );
  }
  if (str('out')?.trim() === '') throw usage(`--out '': must be a file path, or - for stdout`);
  const reportDir = str('report-dir') ?? 'reports';
  if (reportDir.trim() === '') throw usage(`--report-dir '${reportDir}': must not be empty`);
  const text = flagText(values, OPTIONS);
  if (target !== undefined) text.set('target', target);
  const thresholds = stringList(values['threshold']);
  inCommandTerms(FIELD_FLAGS, text, () => parseThresholds(thresholds));

  const opt = <T>(key: string, parse: (name: string, raw: string) => T): T | undefined => {
    const raw = str(key);
    return raw === undefined ? undefined : parse(`--${key}`, raw);
  };
  const sizeRaws = stringList(values['size']);
  const search: SearchSettings = {
    ...defined('maxLossPercent', opt('max-loss', parsePercentOption)),
    ...defined('maxP99Us', opt('max-p99', parseLatencyOption)),
    ...defined('trialMs', opt('trial', parseDurationOption)),
    ...defined('maxRate', opt('max-rate', parseRateOption)),
    ...defined('maxTrials', opt('max-trials', integerOption)),
    ...defined('budgetMs', opt('search-time', parseDurationOption)),
    ...defined('repeats', opt('repeats', integerOption)),
  };
  // Enumerations go to the library as typed: it knows the modes and arrivals, and names them.
  const plan: LoadPlan = {
    ...defined('target', target),
    ...defined('mode', str('mode') as PlanMode | undefined),
    ...defined('durationMs', opt('duration', parseDurationOption)),
    ...defined('warmupMs', opt('warmup', parseDurationOption)),
    ...defined('rate', opt('rate', parseRateOption)),
    ...defined('arrival', str('arrival') as Arrival | undefined),
    ...defined('sizes', sizeRaws.length === 0 ? undefined : parseSizesOption(sizeRaws)),
    ...defined('flows', opt('flows', integerOption)),
    ...defined('window', opt('window', integerOption)),
    ...defined('drainMs', opt('drain', parseDurationOption)),
    ...defined('intervalMs', opt('interval', parseDurationOption)),
    ...defined('rcvbufBytes', opt('rcvbuf', integerOption)),
    ...defined('workers', opt('workers', integerOption)),
    ...defined('maxLagUs', opt('max-lag', parseLatencyOption)),
    ...(values['i-own-the-target'] === true ? { ownTarget: true } : {}),
    ...(values['no-preflight'] === true ? { preflight: false } : {}),
    ...(Object.keys(search).length === 0 ? {} : { search }),
  };
  if (values['suite'] !== true) inCommandTerms(FIELD_FLAGS, text, () => resolveLoadPlan(plan));
  const distributed = distributedArgs(str, plan, text);
  return {
    ...(distributed === undefined ? {} : { distributed }),
    help: false,
    plan,
    text,
    thresholds,
    json: values['json'] === true,
    ndjson: values['ndjson'] === true,
    reportDir,
    suite: values['suite'] === true,
  };
}

/** `--shard`/`--shards`, `--run-id`, `--start-at` and `--out`, judged by the library (shardRunProblems). */
function distributedArgs(
  str: (k: string) => string | undefined,
  plan: LoadPlan,
  text: Map<string, string>,
): DistributedArgs | undefined {
  const keys = ['shard', 'shards', 'run-id', 'start-at', 'out'];
  const given = keys.filter((k) => str(k) !== undefined);
  if (given.length === 0) return undefined;
  if (plan.mode === 'search') {
    throw usage(`--${given[0]} applies to one load run, not to --mode search`);
  }
  const shard = parseShardOptions(str('shard'), str('shards'));
  const runId = str('run-id');
  const startAt = str('start-at');
  const startAtEpochMs = startAt === undefined ? undefined : parseStartAtOption(startAt);
  const out = str('out');
  const run: DistributedArgs = {
    ...defined('shard', shard),
    ...defined('runId', runId),
    ...defined('startAtEpochMs', startAtEpochMs),
    ...defined('out', out),
  };
  const { mode: _m, search: _s, ...options } = plan;
  inCommandTerms(FIELD_FLAGS, text, () => throwIfProblems(shardRunProblems(run, options)));
  return run;
}

/** An integer option's value for the library to judge (NaN when the text is not an integer). */
const integerOption = (_name: string, raw: string): number => integerValue(raw);

/** `{ [key]: value }`, or nothing when value is undefined (exactOptionalPropertyTypes). */
function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}

/** `echolot load`: parses options, runs the load, prints progress and the report, writes load.json, returns the exit code. */
export async function loadCommand(argv: readonly string[], interrupt?: AbortSignal): Promise<number> {
  const parsed = parseLoadArgs(argv);
  if (parsed.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // A load run stops early with what it measured, a search with the trials it finished, the suite with
  // the gates it judged (the rest not run).
  const onInterrupt = (): void => {
    const signal = interruptReason(interrupt as AbortSignal);
    process.stderr.write(
      `\necholot: interrupted by ${signal}: stopping, writing what was measured (again to quit at once)\n`,
    );
  };
  if (interrupt?.aborted) onInterrupt();
  else interrupt?.addEventListener('abort', onInterrupt, { once: true });
  try {
    return await (parsed.suite ? suiteCommand(parsed, interrupt) : planCommand(parsed, interrupt));
  } catch (err) {
    // A load run or search whose target did not answer the preflight writes no report (nothing was
    // measured), but CI still gets the diagnosis as an annotation; the exit code stays 69.
    if (unreachableTarget(err) !== undefined && inGithubActions()) {
      const human = parsed.json || parsed.ndjson ? process.stderr : process.stdout;
      human.write(renderNotStartedAnnotation('load', (err as Error).message));
    }
    // A problem only the run can find (sizes against the target's family, the safety cap) comes from
    // the library too: it is said in the command's words like the others.
    throw toCommandError(err, FIELD_FLAGS, parsed.text);
  } finally {
    interrupt?.removeEventListener('abort', onInterrupt);
  }
}

/** One load run or a search, as the plan says. */
async function planCommand(parsed: LoadArgs, interrupt?: AbortSignal): Promise<number> {
  const thresholds = inCommandTerms(FIELD_FLAGS, parsed.text, () => parseThresholds(parsed.thresholds));
  const machine = parsed.json || parsed.ndjson || parsed.distributed?.out === '-';
  // Human output goes to stderr when stdout carries JSON, as `echolot check --json` does.
  const human = machine ? process.stderr : process.stdout;
  const style = { color: colorEnabled(human) };
  const { mode, search, ...options } = parsed.plan;
  if (mode === 'search') {
    const searchOptions = interrupt ? { ...options, signal: interrupt } : options;
    return searchCommand(parsed, searchOptions, search ?? {}, thresholds, human, style);
  }
  const progress = statusLine(process.stderr);
  const onInterval = (interval: IntervalStats): void => {
    if (parsed.ndjson) process.stdout.write(renderIntervalLine(interval));
    progress.show(renderProgressLine(interval));
  };
  const loadOptions: LoadOptions = {
    ...options,
    ...(mode === undefined ? {} : { mode }),
    ...(interrupt ? { signal: interrupt } : {}),
  };
  // An unwritable report directory is found before the run, not after it (the results are not lost).
  await prepareReportDir(parsed.reportDir);
  const dist = parsed.distributed;
  if (dist?.out !== undefined && dist.out !== '-') {
    const why = await fileProblem(dist.out);
    if (why !== undefined) throw new HarnessError('ERR_ECHOLOT_IO', `--out ${dist.out}: ${why}`);
  }
  human.write(renderLoadStart(loadOptions));
  let result;
  let shardText: string | undefined;
  let reportId: string | undefined;
  try {
    if (dist === undefined) result = await runLoad({ ...loadOptions, onInterval });
    else {
      // One shard (or a whole run with a run id, a start time or an --out document): the library plans its part.
      const runId = dist.runId ?? newRunId();
      const shard = dist.shard ?? { index: 0, count: 1 };
      const part = planShard(loadOptions, shard, runId, dist.startAtEpochMs);
      if (shard.count > 1) {
        human.write(
          `echolot load: shard ${shard.index} of ${shard.count} of run ${runId}: ${part.options.rate === undefined ? '' : `${rateText(part.options.rate)}, `}${part.options.flows} flow(s)\n`,
        );
      }
      if (dist.startAtEpochMs !== undefined) {
        human.write(
          `echolot load: starting at ${new Date(dist.startAtEpochMs).toISOString()} (this host's clock)\n`,
        );
      }
      const detailed = await runLoadDetailed({ ...part.options, onInterval }, part.internals);
      const doc = shardDocument(detailed, {
        shard,
        runId,
        options: loadOptions,
        ...(dist.startAtEpochMs === undefined ? {} : { startAtEpochMs: dist.startAtEpochMs }),
      });
      shardText = renderShardDocument(doc);
      result = { ...detailed.result, runId };
      reportId = shard.count > 1 ? `${runId}.shard-${shard.index}` : runId;
    }
  } finally {
    progress.clear();
  }
  const outcomes = evaluateThresholds(result, thresholds);
  const report = loadReport(result, outcomes);
  const runReport = await loadRunReport(reportId ?? result.runId, renderLoadJson(result, outcomes), {
    load: report,
    intervals: result.intervals,
  });
  const files = await writeLoadReport(
    parsed.reportDir,
    shardText === undefined
      ? runReport
      : { ...runReport, files: [...runReport.files, { name: 'shard.json', content: shardText }] },
  );
  if (shardText !== undefined && dist?.out !== undefined) {
    if (dist.out === '-') process.stdout.write(shardText);
    else await writeDocument('--out', dist.out, shardText);
  }
  human.write(renderLoadHeader(result));
  human.write(renderLoadResult(result, outcomes, style, { loadJson: files.loadJson }));
  if (inGithubActions()) human.write(renderLoadAnnotations(report));
  await appendStepSummary(renderLoadMarkdown(report, files.indexHtml ?? files.loadJson));
  if (files.summaryJson !== undefined && files.junitXml !== undefined)
    human.write(`reports: ${files.summaryJson}\n         ${files.junitXml}\n`);
  if (files.indexHtml !== undefined) human.write(`report: ${files.indexHtml}\n`);
  if (parsed.json) process.stdout.write(renderLoadJson(result, outcomes));
  if (parsed.ndjson) process.stdout.write(renderResultLine(result, outcomes));
  if (result.interrupted !== undefined) return signalExitCode(result.interrupted);
  return thresholdsPassed(outcomes) ? 0 : 1;
}

/** The paths of a written load report, as the user should see them. */
interface LoadFiles {
  readonly loadJson: string;
  readonly indexHtml?: string;
  readonly summaryJson?: string;
  readonly junitXml?: string;
}

/** Writes a load or search report through the one report writer (a failure is ERR_ECHOLOT_IO, exit 74). */
async function writeLoadReport(reportDir: string, report: Report): Promise<LoadFiles> {
  const written = await writeReportFiles(reportDir, report);
  const path = (name: string): string | undefined => {
    const p = written.paths[name];
    return p === undefined ? undefined : displayPath(p);
  };
  const indexHtml = path('index.html');
  const summaryJson = path('summary.json');
  const junitXml = path('junit.xml');
  return {
    loadJson: path('load.json') ?? join(written.dir, 'load.json'),
    ...(indexHtml ? { indexHtml } : {}),
    ...(summaryJson ? { summaryJson } : {}),
    ...(junitXml ? { junitXml } : {}),
  };
}

/** `echolot load --mode search`: one line per trial as it ends, then the search report; exit 1 when no rate passed or a threshold fails. */
async function searchCommand(
  parsed: LoadArgs,
  options: LoadOptions,
  settings: SearchSettings,
  thresholds: readonly Threshold[],
  human: NodeJS.WriteStream,
  style: { color: boolean },
): Promise<number> {
  const where = options.target ?? 'the embedded reference server';
  await prepareReportDir(parsed.reportDir);
  human.write(`echolot load: search mode against ${where}...\n`);
  const result = await runSearch(options, settings, (trial) => {
    human.write(renderTrialProgress(trial));
    if (parsed.ndjson) process.stdout.write(renderTrialLine(trial));
  });
  const outcomes: ThresholdOutcome[] = result.final
    ? evaluateThresholds(result.final, thresholds)
    : thresholds.map((threshold) => ({ threshold, actual: NaN, ok: false }));
  // The page shows the final trial's run, with every trial on the rate charts.
  const files = await writeLoadReport(
    parsed.reportDir,
    await loadRunReport(
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
            tests: false,
          },
    ),
  );
  human.write(renderSearchResult(result, outcomes, style, { loadJson: files.loadJson }));
  if (files.indexHtml !== undefined) human.write(`report: ${files.indexHtml}\n`);
  if (parsed.json) process.stdout.write(renderSearchJson(result, outcomes));
  if (parsed.ndjson) process.stdout.write(renderSearchResultLine(result, outcomes));
  if (result.interrupted !== undefined) return signalExitCode(result.interrupted);
  return searchPassed(result, outcomes) ? 0 : 1;
}

/** `echolot load --suite`: the load gates under mocha, one line per gate, then the report paths. */
async function suiteCommand(parsed: LoadArgs, interrupt?: AbortSignal): Promise<number> {
  const human = parsed.json ? process.stderr : process.stdout;
  const color = human.isTTY === true && !process.env['NO_COLOR'];
  const where = parsed.plan.target ?? 'the embedded reference server';
  human.write(`echolot load --suite: load gates of suites/load against ${where}\n`);
  await prepareReportDir(parsed.reportDir);
  const started = Date.now();
  const run = await runLoadSuite({
    ...(parsed.plan.target === undefined ? {} : { target: parsed.plan.target }),
    ownTarget: parsed.plan.ownTarget === true,
    preflight: parsed.plan.preflight !== false,
    onGate: (g) => human.write(renderGateLine(g, { color })),
    ...(interrupt === undefined ? {} : { signal: interrupt }),
  }).catch((err: unknown) => {
    // A target that does not answer the preflight: still exit 69, with reports for CI to show.
    const failed = notStartedSuite(err, started);
    if (failed === undefined) throw err;
    process.stderr.write(`echolot: ${failed.notStarted?.diagnosis ?? ''}\n`);
    return failed;
  });
  const written = await writeReportFiles(parsed.reportDir, await loadSuiteReport(run));
  const path = (name: string): string => displayPath(written.paths[name] ?? join(written.dir, name));
  const passed = run.gates.filter((g) => g.passed).length;
  if (run.notStarted === undefined) {
    human.write(
      `\n${passed}/${run.gates.length} gates passed in ${(run.durationMs / 1000).toFixed(1)} s, run ${run.runId}` +
        `${run.interrupted === undefined ? '' : `; interrupted by ${run.interrupted}: ${run.gates.filter((g) => g.notRun !== undefined).length} not run`}\n` +
        `reports: ${path('mochawesome.html')}\n         ${path('summary.json')}\n         ${path('junit.xml')}\n`,
    );
  } else {
    human.write(`reports: ${path('summary.json')}\n         ${path('junit.xml')}\n`);
    if (inGithubActions()) human.write(renderNotStartedAnnotation('load --suite', run.notStarted.diagnosis));
  }
  human.write(`report: ${path('index.html')}\n`);
  if (parsed.json) process.stdout.write(renderLoadSuiteSummary(run));
  return run.exitCode;
}
