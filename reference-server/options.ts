import { isIP } from 'node:net';
import { throwIfProblems, type Problem } from '../harness/errors.js';
import { DEFAULT_LOOP_PORTS, ECHO_PORT } from '../harness/protocol/constants.js';
import { parseRange } from './policy.js';

/** Severity of one reference-server log line. */
export type LogLevel = 'info' | 'warn' | 'error';

/** Receives one line per server event (bind, skip, address change, socket error). */
export type LogSink = (level: LogLevel, line: string) => void;

/** The `bind` word that means every address of every interface, re-scanned while the server runs. */
export const BIND_ALL = 'all';

/** Options of the reference echo server; every field is optional and has one documented default. */
export interface ServeOptions {
  /** UDP port; 0 = an ephemeral port chosen by the OS, then shared by every address. @defaultValue 7 */
  port?: number;
  /** Addresses to serve: literal IPv4/IPv6 addresses (IPv6 link-local may carry %scope), or 'all' = every address of every interface from os.networkInterfaces(), re-scanned periodically. @defaultValue ['all'] */
  bind?: readonly string[];
  /** Source ports never answered (loop/reflection protection). Port 0 is always refused. @defaultValue DEFAULT_LOOP_PORTS */
  loopPorts?: readonly number[];
  /** Bound on replies handed to the kernel but not yet confirmed; beyond it datagrams are dropped and counted. @defaultValue 1024 */
  maxInflight?: number;
  /** How often 'all' re-scans interfaces, ms. @defaultValue 2000 */
  rescanIntervalMs?: number;
  /** Log sink; one line per event. @defaultValue no-op */
  log?: LogSink;
  /** Only sources in these CIDR ranges (or single addresses) are answered. @defaultValue [] = every source */
  allow?: readonly string[];
  /** Sources in these CIDR ranges (or single addresses) are never answered; deny wins over allow. @defaultValue [] */
  deny?: readonly string[];
  /** Datagrams per second answered per source address; 0 = no limit. @defaultValue 0 */
  rateLimit?: number;
  /** Per-source token-bucket depth (datagrams answered in one burst). @defaultValue rateLimit (at least 1) */
  rateBurst?: number;
  /** Datagrams per second answered across all sources; 0 = no limit. @defaultValue 0 */
  globalRateLimit?: number;
  /** Source addresses tracked at once for access control and rate limits (least recent forgotten first). @defaultValue 16384 */
  maxSources?: number;
  /** Drop datagrams that continue an echo loop with another echo server on any port (see loop-guard.ts): more than 8 repeats of one payload from one peer, each within 10 ms of the last. @defaultValue true */
  loopGuard?: boolean;
  /** Inherited UDP socket descriptors (systemd socket activation): served as they are, bind and port ignored, no re-scan. @defaultValue [] */
  listenFds?: readonly number[];
}

/** ServeOptions after validation: every field present, defaults applied, lists deduplicated, all frozen. */
export interface ResolvedServeOptions {
  /** UDP port requested (0 = ephemeral). */
  readonly port: number;
  /** Deduplicated addresses and/or 'all', in the order given. */
  readonly bind: readonly string[];
  /** Refused source ports, ascending, always including 0. */
  readonly loopPorts: readonly number[];
  /** Replies allowed in flight at once across all sockets. */
  readonly maxInflight: number;
  /** Interface re-scan period for 'all', ms. */
  readonly rescanIntervalMs: number;
  /** Log sink. */
  readonly log: LogSink;
  /** Allowed source ranges, as given (empty = every source). */
  readonly allow: readonly string[];
  /** Denied source ranges, as given. */
  readonly deny: readonly string[];
  /** Per-source datagrams per second; 0 = no limit. */
  readonly rateLimit: number;
  /** Per-source bucket depth. */
  readonly rateBurst: number;
  /** Global datagrams per second; 0 = no limit. */
  readonly globalRateLimit: number;
  /** Source table bound. */
  readonly maxSources: number;
  /** Whether the loop guard runs. */
  readonly loopGuard: boolean;
  /** Inherited socket descriptors; non-empty = socket activation. */
  readonly listenFds: readonly number[];
}

/** The defaults of ServeOptions, in one place. */
export const SERVE_DEFAULTS = Object.freeze({
  port: ECHO_PORT,
  bind: Object.freeze([BIND_ALL]) as readonly string[],
  loopPorts: DEFAULT_LOOP_PORTS,
  maxInflight: 1024,
  rescanIntervalMs: 2000,
  rateLimit: 0,
  globalRateLimit: 0,
  maxSources: 16384,
  loopGuard: true,
});

/** Upper bound of the rate limits, datagrams per second. */
export const MAX_RATE_LIMIT = 100_000_000;

/** Upper bound of maxSources: a few hundred bytes each keeps the table under a few hundred MB. */
export const MAX_SOURCES_LIMIT = 1_000_000;

/** Upper bound of maxInflight: far above any useful value, low enough to keep memory bounded. */
export const MAX_INFLIGHT_LIMIT = 1_000_000;

const RESCAN_MIN_MS = 10;
const RESCAN_MAX_MS = 86_400_000;

const noop: LogSink = () => undefined;

/** Why `address` cannot be served as a bind address, or undefined when it can ('all' included). */
export function bindAddressProblem(address: string): string | undefined {
  if (address === BIND_ALL) return undefined;
  const family = isIP(address);
  if (family === 0) return `must be 'all' or a literal IPv4/IPv6 address (IPv6 may carry %scope)`;
  // A wildcard socket answers from whichever address the routing table picks, not the one asked (RFC 1122 4.1.3.5).
  const bare = (address.split('%')[0] ?? '').toLowerCase();
  if (bare === '0.0.0.0' || /^[0:]+$/.test(bare)) {
    return `must not be a wildcard address (use 'all' for every local address)`;
  }
  return undefined;
}

/** Validates ServeOptions, collecting every problem, and returns frozen options with defaults applied. */
export function resolveServeOptions(options: ServeOptions = {}): ResolvedServeOptions {
  const problems: Problem[] = [];
  const problem = (path: string, value: unknown, message: string): void => {
    problems.push({ path, value, message });
  };

  const port = options.port ?? SERVE_DEFAULTS.port;
  if (!isIntegerIn(port, 0, 65535)) problem('port', port, 'must be an integer in 0..65535');

  const bind = options.bind ?? SERVE_DEFAULTS.bind;
  const addresses: string[] = [];
  if (!Array.isArray(bind) || bind.length === 0) {
    problem('bind', bind, `must be a non-empty list of addresses or 'all'`);
  } else {
    bind.forEach((entry: unknown, i) => {
      if (typeof entry !== 'string') {
        problem(`bind[${i}]`, entry, 'must be a string');
        return;
      }
      const why = bindAddressProblem(entry);
      if (why !== undefined) problem(`bind[${i}]`, entry, why);
      else if (!addresses.some((a) => a.toLowerCase() === entry.toLowerCase())) addresses.push(entry);
    });
  }

  const loopPortsIn = options.loopPorts ?? SERVE_DEFAULTS.loopPorts;
  // Port 0 is never a real sender: answering it would send to the wildcard and is refused regardless.
  const loopPorts = new Set<number>([0]);
  if (!Array.isArray(loopPortsIn)) {
    problem('loopPorts', loopPortsIn, 'must be a list of integers in 0..65535');
  } else {
    loopPortsIn.forEach((p: unknown, i) => {
      if (isIntegerIn(p, 0, 65535)) loopPorts.add(p);
      else problem(`loopPorts[${i}]`, p, 'must be an integer in 0..65535');
    });
  }

  const maxInflight = options.maxInflight ?? SERVE_DEFAULTS.maxInflight;
  if (!isIntegerIn(maxInflight, 1, MAX_INFLIGHT_LIMIT)) {
    problem('maxInflight', maxInflight, `must be an integer in 1..${MAX_INFLIGHT_LIMIT}`);
  }

  const rescanIntervalMs = options.rescanIntervalMs ?? SERVE_DEFAULTS.rescanIntervalMs;
  if (!isIntegerIn(rescanIntervalMs, RESCAN_MIN_MS, RESCAN_MAX_MS)) {
    problem('rescanIntervalMs', rescanIntervalMs, `must be an integer in ${RESCAN_MIN_MS}..${RESCAN_MAX_MS}`);
  }

  const log = options.log ?? noop;
  if (typeof log !== 'function') problem('log', log, 'must be a function (level, line) => void');

  const ranges = (field: 'allow' | 'deny'): string[] => {
    const list = options[field] ?? [];
    if (!Array.isArray(list)) {
      problem(field, list, 'must be a list of CIDR ranges');
      return [];
    }
    const out: string[] = [];
    list.forEach((entry: unknown, i) => {
      try {
        if (typeof entry !== 'string') throw new Error('must be a string');
        parseRange(entry);
        out.push(entry.trim());
      } catch (err) {
        problem(`${field}[${i}]`, entry, err instanceof Error ? err.message : String(err));
      }
    });
    return out;
  };
  const allow = ranges('allow');
  const deny = ranges('deny');

  const rateLimit = options.rateLimit ?? SERVE_DEFAULTS.rateLimit;
  if (!isIntegerIn(rateLimit, 0, MAX_RATE_LIMIT)) {
    problem('rateLimit', rateLimit, `must be an integer in 0..${MAX_RATE_LIMIT}`);
  }
  const rateBurst = options.rateBurst ?? Math.max(1, rateLimit);
  // A burst derived from a rate limit that is itself wrong is not a second problem.
  if (options.rateBurst !== undefined && !isIntegerIn(rateBurst, 1, MAX_RATE_LIMIT)) {
    problem('rateBurst', rateBurst, `must be an integer in 1..${MAX_RATE_LIMIT}`);
  }
  const globalRateLimit = options.globalRateLimit ?? SERVE_DEFAULTS.globalRateLimit;
  if (!isIntegerIn(globalRateLimit, 0, MAX_RATE_LIMIT)) {
    problem('globalRateLimit', globalRateLimit, `must be an integer in 0..${MAX_RATE_LIMIT}`);
  }
  const maxSources = options.maxSources ?? SERVE_DEFAULTS.maxSources;
  if (!isIntegerIn(maxSources, 1, MAX_SOURCES_LIMIT)) {
    problem('maxSources', maxSources, `must be an integer in 1..${MAX_SOURCES_LIMIT}`);
  }

  const loopGuard = options.loopGuard ?? SERVE_DEFAULTS.loopGuard;
  if (typeof loopGuard !== 'boolean') problem('loopGuard', loopGuard, 'must be true or false');

  const listenFds = options.listenFds ?? [];
  if (!Array.isArray(listenFds) || !listenFds.every((fd: unknown) => isIntegerIn(fd, 3, 65535))) {
    problem('listenFds', listenFds, 'must be a list of descriptor numbers >= 3');
  }

  throwIfProblems(problems);
  return Object.freeze({
    port,
    bind: Object.freeze(addresses),
    loopPorts: Object.freeze([...loopPorts].sort((a, b) => a - b)),
    maxInflight,
    rescanIntervalMs,
    log,
    allow: Object.freeze(allow),
    deny: Object.freeze(deny),
    rateLimit,
    rateBurst,
    globalRateLimit,
    maxSources,
    loopGuard,
    listenFds: Object.freeze([...listenFds]),
  });
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
