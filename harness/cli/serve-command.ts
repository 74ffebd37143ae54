import { ERROR_CATALOGUE, HarnessError } from '../errors.js';
import {
  DROP_REASONS,
  LOOP_GUARD,
  MAX_INFLIGHT_LIMIT,
  SERVE_DEFAULTS,
  parseMetricsEndpoint,
  resolveServeOptions,
  startMetricsServer,
  startReferenceServer,
  type DetailedStats,
  type LogLevel,
  type MetricsServer,
  type ServeOptions,
  type ServerStats,
} from '../../reference-server/index.js';
import { checkCanDropTo, dropPrivileges, type UserAccount } from '../../reference-server/privileges.js';
import { emptyStats } from '../../reference-server/server-stats.js';
import { clearListenEnv, listenFdsFromEnv } from '../../reference-server/systemd.js';
import { integerValue, parseCommandArgs, stringList, type OptionTable, type CommandSpec } from './args.js';
import { flagText, inCommandTerms, type FieldFlags } from './field-flags.js';
import {
  createServeLogger,
  parseLogFormat,
  parseLogLevel,
  processOutput,
  type LogFormat,
  type ServeLogger,
  type ServeLogLevel,
} from './serve-log.js';
import { catchStopSignals, type StopCause, type StopSignals } from './stop-signals.js';
import { listeningLine } from '../target/child-server.js';

export const OPTIONS: OptionTable = {
  port: { type: 'string' },
  bind: { type: 'string', multiple: true },
  'loop-ports': { type: 'string' },
  'max-inflight': { type: 'string' },
  allow: { type: 'string', multiple: true },
  deny: { type: 'string', multiple: true },
  'rate-limit': { type: 'string' },
  'rate-burst': { type: 'string' },
  'global-rate-limit': { type: 'string' },
  'loop-guard': { type: 'string' },
  metrics: { type: 'string' },
  user: { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Which flag sets each field of ServeOptions (the library's problems name fields; the user typed flags). */
const SERVE_FLAGS: FieldFlags = {
  port: { flag: '--port' },
  bind: { flag: '--bind', repeated: true },
  loopPorts: { flag: '--loop-ports' },
  maxInflight: { flag: '--max-inflight' },
  allow: { flag: '--allow', repeated: true },
  deny: { flag: '--deny', repeated: true },
  rateLimit: { flag: '--rate-limit' },
  rateBurst: { flag: '--rate-burst' },
  globalRateLimit: { flag: '--global-rate-limit' },
  loopGuard: { flag: '--loop-guard' },
  listenFds: { flag: 'LISTEN_FDS' },
};

export const HELP = `Usage: echolot serve [options]

Runs the reference UDP echo server (RFC 862): every datagram comes back unchanged, exactly once,
from the address and port it was sent to, also on hosts with several addresses. With the native
I/O module (built by npm ci; ECHOLOT_IO=dgram turns it off) the echo runs in C in batches: one
wildcard socket per family for --bind all, replying from each request's destination address, and
one socket per explicit address; without it, one node:dgram socket per address. Every option
below works on both paths.

Options:
  --port N            UDP port, 0..65535; 0 = one ephemeral port shared by every address
                      (default ${SERVE_DEFAULTS.port}; ports below 1024 need privilege)
  --bind ADDR         address to serve: a literal IPv4/IPv6 address (IPv6 link-local as
                      fe80::1%eth0) or 'all' = every address of every interface, re-scanned
                      every ${SERVE_DEFAULTS.rescanIntervalMs} ms. Repeatable; 'all' may be combined with extra addresses
                      such as 127.0.0.2 (default: all)
  --loop-ports LIST   comma-separated source ports never answered (loop/reflection protection),
                      or 'none'; source port 0 is always refused
                      (default ${SERVE_DEFAULTS.loopPorts.join(',')})
  --max-inflight N    replies in flight at most, 1..${MAX_INFLIGHT_LIMIT}; beyond it datagrams are dropped
                      and counted (default ${SERVE_DEFAULTS.maxInflight})
  --allow CIDR        answer only sources in this range (or single address); repeatable
                      (default: every source). No host bits (127.0.0.0/8, not 127.0.0.1/8);
                      v4-mapped ranges (::ffff:127.0.0.0/104) mean their IPv4 range (127.0.0.0/8)
  --deny CIDR         never answer sources in this range; repeatable; deny wins over allow
  --rate-limit PPS    datagrams per second answered per source address, 0 = off (default 0)
  --rate-burst N      per-source bucket depth: datagrams answered at once before the rate
                      applies (default: the rate)
  --global-rate-limit PPS
                      datagrams per second answered across all sources, 0 = off (default 0);
                      shared fairly between source networks (/24, /56), not first come first
                      served: a client within its share keeps its replies under a flood
  --loop-guard on|off drop what continues an echo loop with another echo server on any port:
                      a payload one peer sends back more than ${LOOP_GUARD.repeats} times in a row, each within
                      ${LOOP_GUARD.gapMs} ms of the last (default ${SERVE_DEFAULTS.loopGuard ? 'on' : 'off'})
  --metrics HOST:PORT serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9707)
  --user NAME         after binding, switch to this user and its groups (needs root)
  --log-format FMT    text (default: lines on stderr, headlines on stdout) or json (pino
                      records on stdout)
  --log-level LEVEL   debug, info, warn or error (default info)
  --quiet             same as --log-level warn
  -h, --help          this help

Output: one 'listening' line on stdout at start; address changes and warnings on stderr;
one summary line on stdout when the server stops. Every datagram not answered is counted by
reason (loop-port, own-port, destination, denied, not-allowed, rate-source, rate-global,
echo-loop, queue-full).

Stopping:
  SIGINT, SIGTERM     close the sockets, print the summary, exit 0
  SIGHUP              the same (serve has no configuration to re-read, and its log is stdout and
                      stderr: nothing to reopen); a closed terminal ends the server cleanly
  before listening    any of the three: no listening line, the summary (zero counters), exit 0
  stdout unwritable   (EPIPE: the reader of a pipe is gone; found when a line is written) stop
                      as on SIGTERM: that line, a warning and the summary go to stderr, exit 74
  A summary that cannot go to stdout after a signal goes to stderr, exit 0 (Ctrl-C on
  'echolot serve | head -n1'). A second signal while stopping is ignored.

systemd socket activation: when started with LISTEN_PID/LISTEN_FDS, the inherited UDP sockets
are served as they are (--port and --bind do not apply, no interface re-scan).

Examples:
  echolot serve --port 7007 --bind 127.0.0.1 --bind ::1
  echolot serve --port 7 --user nobody                 as root: bind port 7, then drop privileges
  echolot serve --port 7007 --allow 192.0.2.0/24 --rate-limit 1000 --metrics 127.0.0.1:9707
  echolot serve --port 0 --log-format json --quiet

Exit codes: 0 stopped by SIGINT, SIGTERM or SIGHUP, 64 usage error (also an unknown --user, or
--user when not root), 69 cannot bind (address in use or not local), 70 internal error, 74 stopped
because stdout cannot be written, 77 permission denied (port below 1024 without privilege).
`;

/** serve's options and help, for `echolot help` and `echolot completion`. */
export const SERVE_COMMAND: CommandSpec = { options: OPTIONS, help: HELP };

/**
 * `echolot serve`: runs the reference server until a stop signal or a failed write to stdout, then prints
 * the summary and returns 0 (a signal) or 74 (stdout). `stop` is given when main.ts caught the signals
 * before loading this module; otherwise they are caught here.
 */
export async function serveCommand(
  argv: readonly string[],
  stop: StopSignals = catchStopSignals(),
): Promise<number> {
  try {
    return await serve(argv, stop);
  } finally {
    stop.dispose();
  }
}

async function serve(argv: readonly string[], stop: StopSignals): Promise<number> {
  const { values, positionals } = parseCommandArgs('serve', argv, OPTIONS);
  if (values['help'] === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `echolot serve: unexpected argument '${positionals[0]}' (see 'echolot serve --help')`,
    );
  }

  // Every option is checked before failing, so one run reports every mistake on the command line.
  const problems: string[] = [];
  const checked = <T>(parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (err) {
      if (!(err instanceof HarnessError) || err.code !== 'ERR_ECHOLOT_USAGE') throw err;
      problems.push(err.message);
      return undefined;
    }
  };
  const integer = (key: string): number | undefined => {
    const raw = values[key];
    return typeof raw === 'string' ? integerValue(raw) : undefined;
  };
  // Text into values here; the ranges, addresses and CIDR ranges are resolveServeOptions' to judge.
  const options: ServeOptions = {
    ...defined('port', integer('port')),
    ...defined('maxInflight', integer('max-inflight')),
    ...defined('bind', nonEmpty(stringList(values['bind']))),
    ...defined(
      'loopPorts',
      checked(() => parseLoopPorts(values['loop-ports'])),
    ),
    ...defined('allow', nonEmpty(stringList(values['allow']))),
    ...defined('deny', nonEmpty(stringList(values['deny']))),
    ...defined('rateLimit', integer('rate-limit')),
    ...defined('rateBurst', integer('rate-burst')),
    ...defined('globalRateLimit', integer('global-rate-limit')),
    ...defined(
      'loopGuard',
      checked(() => parseOnOff('--loop-guard', values['loop-guard'])),
    ),
  };
  const metrics = checked(() =>
    typeof values['metrics'] === 'string' ? parseMetricsEndpoint(values['metrics']) : undefined,
  );
  const format: LogFormat =
    checked(() =>
      typeof values['log-format'] === 'string' ? parseLogFormat(values['log-format']) : undefined,
    ) ?? 'text';
  let level: ServeLogLevel =
    checked(() =>
      typeof values['log-level'] === 'string' ? parseLogLevel(values['log-level']) : undefined,
    ) ?? 'info';
  if (values['quiet'] === true && level === 'info') level = 'warn';

  // sd_listen_fds(3): the descriptors are ours only if LISTEN_PID is this process; unset so no child takes them.
  const activation = checked(() => listenFdsFromEnv(process.env, process.pid));
  clearListenEnv(process.env);
  if (activation !== undefined && (values['port'] !== undefined || values['bind'] !== undefined)) {
    problems.push(
      '--port and --bind do not apply under socket activation (the .socket unit sets the addresses)',
    );
  }
  // A stdout that cannot be written (the reader of a pipe is gone) stops the server, as SIGPIPE would.
  const output = processOutput((code) => {
    if (stop.cause === undefined) {
      logger.log('warn', `stdout cannot be written (${code}): stopping`, { event: 'stdout-error', code });
    }
    stop.stop('stdout');
  });
  const logger = createServeLogger(format, level, output);
  const log = (at: LogLevel, line: string): void => logger.log(at, line);
  // Resolve before binding, so that the listening line shows exactly the policy in force (port 0 always
  // included); the library's problems are said with the flags and the text given.
  const resolved = checked(() =>
    inCommandTerms(SERVE_FLAGS, flagText(values, OPTIONS), () =>
      resolveServeOptions({
        ...options,
        log,
        ...(activation !== undefined ? { listenFds: activation.fds } : {}),
      }),
    ),
  );
  const userName = typeof values['user'] === 'string' ? values['user'] : undefined;
  // Before binding: an unknown user or a non-root start must cost nothing and say so at once.
  const account: UserAccount | undefined =
    userName === undefined ? undefined : checked(() => checkCanDropTo(userName));
  if (problems.length > 0 || resolved === undefined) {
    throw new HarnessError('ERR_ECHOLOT_USAGE', problems.join('; '));
  }

  // A stop before anything is bound: nothing to close, and the summary says so.
  if (stop.cause !== undefined) return stopped(logger, stop.cause, emptyStats(), {});
  const server = await startReferenceServer(resolved);
  let metricsServer: MetricsServer | undefined;
  let cause: StopCause;
  try {
    if (activation !== undefined) {
      logger.log('info', `socket activation: serving ${activation.fds.length} inherited socket(s)`, {
        event: 'activation',
        fds: activation.fds,
        names: activation.names,
      });
    }
    if (metrics !== undefined) {
      metricsServer = await startMetricsServer(metrics.host, metrics.port, server);
      logger.log('info', `metrics at ${metricsServer.url}`, { event: 'metrics', url: metricsServer.url });
    }
    // Every privileged bind (port 7, a low metrics port) is done; nothing after this needs root.
    if (account !== undefined) {
      dropPrivileges(account);
      logger.log('info', `running as user ${account.name} (uid ${account.uid}, gid ${account.gid})`, {
        event: 'privileges',
        ...account,
      });
    }
    // Stopped while starting: the server closes at once, so it is not announced as listening.
    if (stop.cause === undefined) {
      logger.headline(
        `${listeningLine(server.port)} at ${server.addresses().join(', ')} ` +
          `(loop protection: source ports ${resolved.loopPorts.join(',')} and the server's own port; ` +
          `loop guard ${resolved.loopGuard ? 'on' : 'off'})`,
        {
          event: 'listening',
          port: server.port,
          addresses: server.addresses(),
          loopPorts: resolved.loopPorts,
          allow: resolved.allow,
          deny: resolved.deny,
          rateLimit: resolved.rateLimit,
          rateBurst: resolved.rateBurst,
          globalRateLimit: resolved.globalRateLimit,
          loopGuard: resolved.loopGuard,
        },
      );
    }
    cause = await stop.received;
  } finally {
    await metricsServer?.close();
    await server.close();
  }
  return stopped(logger, cause, server.stats(), dropsByReason(server.detailedStats()));
}

/** Logs the drops by reason and the summary; returns the exit code of `cause`: 0 for a signal, 74 for stdout. */
function stopped(
  logger: ServeLogger,
  cause: StopCause,
  stats: ServerStats,
  drops: Record<string, number>,
): number {
  if (Object.keys(drops).length > 0) {
    logger.log(
      'info',
      `drops by reason: ${Object.entries(drops)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ')}`,
      { event: 'drops', dropped: drops },
    );
  }
  logger.headline(summaryLine(stats).replace(/^echolot serve: /, ''), {
    event: 'stopped',
    ...stats,
    dropped: drops,
    cause,
  });
  return cause === 'stdout' ? ERROR_CATALOGUE.ERR_ECHOLOT_IO : 0;
}

/** Non-zero drop counts by reason, summed over both families. */
function dropsByReason(d: DetailedStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const reason of DROP_REASONS) {
    const n = d.udp4.dropped[reason] + d.udp6.dropped[reason];
    if (n > 0) out[reason] = n;
  }
  return out;
}

/** The one line printed when the server stops. */
export function summaryLine(stats: ServerStats): string {
  return (
    `echolot serve: stopped; received ${stats.received}, echoed ${stats.echoed}, ` +
    `dropped by policy ${stats.droppedByPolicy}, dropped (queue full) ${stats.droppedQueueFull}, errors ${stats.errors}`
  );
}

type ParsedValue = string | boolean | (string | boolean)[] | undefined;

/** `--loop-ports 7,9,13` or `none` as a list of integers (their range is the library's to judge). */
function parseLoopPorts(raw: ParsedValue): number[] | undefined {
  if (typeof raw !== 'string') return undefined;
  if (raw.trim() === 'none') return [];
  return raw.split(',').map((item) => {
    const n = /^\s*[+-]?\d+\s*$/.test(item) ? Number(item) : NaN;
    if (!Number.isSafeInteger(n)) {
      throw new HarnessError(
        'ERR_ECHOLOT_USAGE',
        `--loop-ports ${raw}: '${item.trim()}' must be an integer (or the whole list 'none')`,
      );
    }
    return n;
  });
}

/** `on` or `off` as a boolean; undefined when the option was not given. */
function parseOnOff(flag: string, raw: ParsedValue): boolean | undefined {
  if (typeof raw !== 'string') return undefined;
  const word = raw.trim().toLowerCase();
  if (word === 'on') return true;
  if (word === 'off') return false;
  throw new HarnessError('ERR_ECHOLOT_USAGE', `${flag} ${raw}: must be 'on' or 'off'`);
}

/** A list, or undefined when it is empty (the option was not given). */
const nonEmpty = (list: string[]): string[] | undefined => (list.length === 0 ? undefined : list);

/** `{ [key]: value }`, or nothing when value is undefined (exactOptionalPropertyTypes). */
function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}
