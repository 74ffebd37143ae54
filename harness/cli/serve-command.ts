import { HarnessError } from '../errors.js';
import {
  BIND_ALL,
  MAX_INFLIGHT_LIMIT,
  SERVE_DEFAULTS,
  bindAddressProblem,
  resolveServeOptions,
  startReferenceServer,
  type LogLevel,
  type ServerStats,
} from '../../reference-server/index.js';
import { parseCommandArgs, parseIntegerOption, stringList, type OptionTable } from './args.js';

const OPTIONS: OptionTable = {
  port: { type: 'string' },
  bind: { type: 'string', multiple: true },
  'loop-ports': { type: 'string' },
  'max-inflight': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const HELP = `Usage: echolot serve [options]

Runs the reference UDP echo server (RFC 862): every datagram comes back unchanged, exactly once,
from the address and port it was sent to. One socket per local address (no wildcard socket), so
replies leave from the address the request was sent to, also on hosts with several addresses.

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
  --quiet             no informational log lines on stderr (warnings and errors still appear)
  -h, --help          this help

Output: one 'listening' line on stdout at start; address changes and warnings on stderr;
on SIGINT/SIGTERM the sockets are closed and one summary line is printed on stdout.

Exit codes: 0 stopped by SIGINT/SIGTERM, 64 usage error, 69 cannot bind (address in use or not
local), 70 internal error, 77 permission denied (port below 1024 without privilege).
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
  const quiet = values['quiet'] === true;
  if (problems.length > 0) throw new HarnessError('ERR_ECHOLOT_USAGE', problems.join('; '));

  const log = (level: LogLevel, line: string): void => {
    if (level === 'info' && quiet) return;
    process.stderr.write(`echolot serve: ${level === 'info' ? '' : `${level}: `}${line}\n`);
  };
  // Resolve first so the listening line shows exactly the policy in force (port 0 always included).
  const resolved = resolveServeOptions({ port, bind, loopPorts, maxInflight, log });

  // Handlers go in before binding: a signal during start-up must still end in a clean close and a summary.
  const signal = stopSignal();
  try {
    const server = await startReferenceServer(resolved);
    try {
      process.stdout.write(
        `echolot serve: listening on udp port ${server.port} at ${server.addresses().join(', ')} ` +
          `(loop protection: source ports ${resolved.loopPorts.join(',')} and the server's own port)\n`,
      );
      await signal.received;
    } finally {
      await server.close();
    }
    process.stdout.write(`${summaryLine(server.stats())}\n`);
    return 0;
  } finally {
    signal.dispose();
  }
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
