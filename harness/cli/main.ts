#!/usr/bin/env node
import { HarnessError } from '../errors.js';
import { checkCommand } from './check-command.js';
import { serveCommand } from './serve-command.js';
import { ECHOLOT_VERSION } from '../version.js';
import { ioDescription } from '../net/native-io.js';

const HELP = `echolot ${ECHOLOT_VERSION}: conformance and load tests for UDP echo servers (RFC 862)

Usage:
  echolot check [HOST:PORT] [options]   run the conformance catalogue (no target: the embedded reference server)
  echolot load [HOST:PORT] [options]    load-test an echo server: latency, rates, loss (no target: the reference server)
  echolot matrix --config FILE          check several echo servers side by side (an interop matrix)
  echolot serve [options]               run the reference echo server
  echolot --version                     print the version and the datagram I/O path
  echolot COMMAND --help                options of a command

Exit codes: 0 as expected, 1 unexpected failures (load: a threshold breached), 2 stale expectations,
64 usage error or empty selection, 69 target unreachable or unresolvable / cannot bind, 70 internal error,
74 a report cannot be written, 77 no permission.
`;

/** Runs one command and maps every error to a one-line message and a documented exit code. */
async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'check':
      return checkCommand(rest);
    case 'serve':
      return serveCommand(rest);
    case 'matrix':
      return (await import('./matrix-command.js')).matrixCommand(rest);
    case 'load':
      // Loaded on demand: `check` and `serve` need none of the load engine.
      return (await import('./load-command.js')).loadCommand(rest);
    case '--version':
    case '-V':
      process.stdout.write(`echolot ${ECHOLOT_VERSION}\ni/o: ${ioDescription()}\n`);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? 64 : 0;
    default:
      throw new HarnessError(
        'ERR_ECHOLOT_USAGE',
        `unknown command '${command}' (commands: check, load, matrix, serve; see 'echolot --help')`,
      );
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof HarnessError) {
      process.stderr.write(`echolot: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stderr.write(`echolot: internal error (please report): ${detail.split('\n')[0]}\n`);
      if (process.env['ECHOLOT_DEBUG']) process.stderr.write(`${detail}\n`);
      process.exitCode = 70;
    }
  },
);
