import { HarnessError } from '../errors.js';
import {
  BIND_ALL,
  DROP_REASONS,
  MAX_INFLIGHT_LIMIT,
  MAX_RATE_LIMIT,
  SERVE_DEFAULTS,
  bindAddressProblem,
  parseMetricsEndpoint,
  parseRange,
  resolveServeOptions,
  startMetricsServer,
  startReferenceServer,
  type DetailedStats,
  type LogLevel,
  type MetricsServer,
  type ServerStats,
} from '../../reference-server/index.js';
import { checkCanDropTo, dropPrivileges, type UserAccount } from '../../reference-server/privileges.js';
import { clearListenEnv, listenFdsFromEnv } from '../../reference-server/systemd.js';
import { parseCommandArgs, parseIntegerOption, stringList, type OptionTable } from './args.js';
import {
  createServeLogger,
  parseLogFormat,
  parseLogLevel,
  type LogFormat,
  type ServeLogLevel,
} from './serve-log.js';

const OPTIONS: OptionTable = {
  port: { type: 'string' },
  bind: { type: 'string', multiple: true },
  'loop-ports': { type: 'string' },
  'max-inflight': { type: 'string' },
  allow: { type: 'string', multiple: true },
  deny: { type: 'string', multiple: true },
  'rate-limit': { type: 'string' },
  'rate-burst': { type: 'string' },
  'global-rate-limit': { type: 'string' },
  metrics: { type: 'string' },
  user: { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const HELP = `Usage: echolot serve [options]

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
                      (default: every source)
  --deny CIDR         never answer sources in this range; repeatable; deny wins over allow
  --rate-limit PPS    datagrams per second answered per source address, 0 = off (default 0)
  --rate-burst N      per-source bucket depth: datagrams answered at once before the rate
                      applies (default: the rate)
  --global-rate-limit PPS
                      datagrams per second answered across all sources, 0 = off (default 0)
  --metrics HOST:PORT serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9707)
  --user NAME         after binding, switch to this user and its groups (needs root)
  --log-format FMT    text (default: lines on stderr, headlines on stdout) or json (pino
                      records on stdout)
  --log-level LEVEL   debug, info, warn or error (default info)
  --quiet             same as --log-level warn
  -h, --help          this help

Output: one 'listening' line on stdout at start; address changes and warnings on stderr;
on SIGINT/SIGTERM the sockets are closed and one summary line is printed on stdout.
Every datagram not answered is counted by reason (loop-port, own-port, destination, denied,
not-allowed, rate-source, rate-global, queue-full).

systemd socket activation: when started with LISTEN_PID/LISTEN_FDS, the inherited UDP sockets
are served as they are (--port and --bind do not apply, no interface re-scan).

Exit codes: 0 stopped by SIGINT/SIGTERM, 64 usage error (also an unknown --user, or --user when
not root), 69 cannot bind (address in use or not local), 70 internal error, 77 permission denied
(port below 1024 without privilege).
`;

/** `echolot serve`: runs the reference server until SIGINT/SIGTERM, then prints a summary and returns 0. */
export async function serveCommand(argv: readonly string[]): Promise<number> {
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
  const port = checked(() => optionalInteger('--port', values['port'], 0, 65535)) ?? SERVE_DEFAULTS.port;
  const maxInflight =
    checked(() => optionalInteger('--max-inflight', values['max-inflight'], 1, MAX_INFLIGHT_LIMIT)) ??
    SERVE_DEFAULTS.maxInflight;
  const bind = checked(() => parseBind(stringList(values['bind']))) ?? SERVE_DEFAULTS.bind;
  const loopPorts = checked(() => parseLoopPorts(values['loop-ports'])) ?? SERVE_DEFAULTS.loopPorts;
  const allow = checked(() => parseRanges('--allow', stringList(values['allow']))) ?? [];
  const deny = checked(() => parseRanges('--deny', stringList(values['deny']))) ?? [];
  const rateLimit = checked(() => optionalInteger('--rate-limit', values['rate-limit'], 0, MAX_RATE_LIMIT));
  const rateBurst = checked(() => optionalInteger('--rate-burst', values['rate-burst'], 1, MAX_RATE_LIMIT));
  const globalRateLimit = checked(() =>
    optionalInteger('--global-rate-limit', values['global-rate-limit'], 0, MAX_RATE_LIMIT),
  );
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
  const userName = typeof values['user'] === 'string' ? values['user'] : undefined;
  // Before binding: an unknown user or a non-root start must cost nothing and say so at once.
  const account: UserAccount | undefined =
    userName === undefined ? undefined : checked(() => checkCanDropTo(userName));
  if (problems.length > 0) throw new HarnessError('ERR_ECHOLOT_USAGE', problems.join('; '));

  const logger = createServeLogger(format, level);
  const log = (at: LogLevel, line: string): void => logger.log(at, line);
  // Resolve first so the listening line shows exactly the policy in force (port 0 always included).
  const resolved = resolveServeOptions({
    port,
    bind,
    loopPorts,
    maxInflight,
    log,
    allow,
    deny,
    ...(rateLimit !== undefined ? { rateLimit } : {}),
    ...(rateBurst !== undefined ? { rateBurst } : {}),
    ...(globalRateLimit !== undefined ? { globalRateLimit } : {}),
    ...(activation !== undefined ? { listenFds: activation.fds } : {}),
  });

  // Handlers go in before binding: a signal during start-up must still end in a clean close and a summary.
  const signal = stopSignal();
  try {
    const server = await startReferenceServer(resolved);
    let metricsServer: MetricsServer | undefined;
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
      logger.headline(
        `listening on udp port ${server.port} at ${server.addresses().join(', ')} ` +
          `(loop protection: source ports ${resolved.loopPorts.join(',')} and the server's own port)`,
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
        },
      );
      await signal.received;
    } finally {
      await metricsServer?.close();
      await server.close();
    }
    const stats = server.stats();
    const drops = dropsByReason(server.detailedStats());
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
    });
    return 0;
  } finally {
    signal.dispose();
  }
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

function parseRanges(name: string, list: string[]): string[] {
  const problems: string[] = [];
  for (const entry of list) {
    try {
      parseRange(entry);
    } catch (err) {
      problems.push(
        `${name} ${entry === '' ? "''" : entry}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  if (problems.length > 0) throw new HarnessError('ERR_ECHOLOT_USAGE', problems.join('; '));
  return list;
}

/** The one line printed when the server stops. */
export function summaryLine(stats: ServerStats): string {
  return (
    `echolot serve: stopped; received ${stats.received}, echoed ${stats.echoed}, ` +
    `dropped by policy ${stats.droppedByPolicy}, dropped (queue full) ${stats.droppedQueueFull}, errors ${stats.errors}`
  );
}

function optionalInteger(name: string, raw: ParsedValue, min: number, max: number): number | undefined {
  return typeof raw === 'string' ? parseIntegerOption(name, raw, min, max) : undefined;
}

type ParsedValue = string | boolean | (string | boolean)[] | undefined;

function parseBind(list: string[]): string[] {
  if (list.length === 0) return [BIND_ALL];
  const problems = list
    .map((address) => ({ address, why: bindAddressProblem(address) }))
    .filter((p): p is { address: string; why: string } => p.why !== undefined);
  if (problems.length > 0) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      problems.map((p) => `--bind ${p.address === '' ? "''" : p.address}: ${p.why}`).join('; '),
    );
  }
  return list;
}

function parseLoopPorts(raw: ParsedValue): number[] | undefined {
  if (typeof raw !== 'string') return undefined;
  if (raw.trim() === 'none') return [];
  // Validate each entry but name the whole list too, so a typo in a long list is easy to find.
  return raw.split(',').map((item) => {
    try {
      return parseIntegerOption('--loop-ports', item, 0, 65535);
    } catch {
      throw new HarnessError(
        'ERR_ECHOLOT_USAGE',
        `--loop-ports ${raw}: '${item.trim()}' must be an integer in 0..65535 (or the whole list 'none')`,
      );
    }
  });
}

interface StopSignal {
  /** Settles on the first SIGINT or SIGTERM. */
  readonly received: Promise<void>;
  /** Removes the handlers, so nothing outlives the server and later signals act as usual. */
  dispose(): void;
}

function stopSignal(): StopSignal {
  let stop = (): void => undefined;
  const received = new Promise<void>((resolve) => {
    stop = () => resolve();
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    received,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
