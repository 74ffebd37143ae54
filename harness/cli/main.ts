#!/usr/bin/env -S node --no-memory-reducer
// --no-memory-reducer: during a load run JavaScript's thread is mostly idle while the data plane sends,
// which is when V8's memory reducer starts its collections, milliseconds of work on that thread that
// delay the plane's sends on a CPU the two share (docs/load.md "Rate precision"). V8 reads the flag
// only as it starts, hence here.
// Only these two small modules load before the first line runs; every command is loaded on demand.
// `serve` catches its stop signals first of all: loading the rest of echolot takes a few hundred ms,
// and a SIGTERM in that time must still end in a clean stop with a summary. `check` and `load` catch
// SIGINT and SIGTERM as early: the first one stops the run cleanly, with its reports (exit 130, 143).
import { HarnessError } from '../errors.js';
import { catchInterrupt, catchStopSignals } from './stop-signals.js';
import { TOP_OPTIONS, VERBS } from './commands.js';
import { closest } from './suggest.js';

const argv = process.argv.slice(2);
const serveSignals = argv[0] === 'serve' ? catchStopSignals() : undefined;
const interrupt = argv[0] === 'check' || argv[0] === 'load' ? catchInterrupt() : undefined;

const help = (
  version: string,
): string => `echolot ${version}: conformance and load tests for UDP echo servers (RFC 862)

Usage:
  echolot check [HOST:PORT] [options]   run the conformance catalogue (no target: the embedded reference server)
  echolot load [HOST:PORT] [options]    load-test an echo server: latency, rates, loss (no target: the reference server)
  echolot merge FILE|DIR...             merge the shards of a distributed load run into one report
  echolot matrix --config FILE          check several echo servers side by side (an interop matrix)
  echolot serve [options]               run the reference echo server
  echolot completion bash|zsh           print a shell completion script
  echolot help [COMMAND]                this help, or the options of a command (same as COMMAND --help)
  echolot --version                     print the version and the datagram I/O path

Examples:
  echolot check 192.0.2.10:7                     check a server (IPv6: '[2001:db8::10]:7')
  echolot check 127.0.0.1:9007 --only '3.*' --strict
  echolot load 127.0.0.1:9007 -d 10s -r 50k --threshold 'p99<2ms'
  echolot serve --port 7007 --bind 127.0.0.1
  echolot help load

Exit codes: 0 as expected, 1 unexpected failures (load: a threshold breached), 2 stale expectations,
64 usage error or empty selection, 65 merge: files that are not shards of one run,
69 target unreachable or unresolvable / cannot bind, 70 internal error,
74 a report cannot be written (serve: stdout cannot be written), 77 no permission,
130 (SIGINT) or 143 (SIGTERM): check and load interrupted (the reports of what ran are written).
`;

/** Runs one command and maps every error to a one-line message and a documented exit code. */
async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'check':
      return (await import('./check-command.js')).checkCommand(rest, interrupt?.signal);
    case 'serve':
      return (await import('./serve-command.js')).serveCommand(rest, serveSignals);
    case 'matrix':
      return (await import('./matrix-command.js')).matrixCommand(rest);
    case 'merge':
      return (await import('./merge-command.js')).mergeCommand(rest);
    case 'load':
      return (await import('./load-command.js')).loadCommand(rest, interrupt?.signal);
    case 'completion':
      return (await import('./completion-command.js')).completionCommand(rest);
    case '--version':
    case '-V': {
      const { ioDescription } = await import('../net/native-io.js');
      process.stdout.write(`echolot ${await version()}\ni/o: ${ioDescription()}\n`);
      return 0;
    }
    case 'help':
      // `echolot help check` is `echolot check --help`; `echolot help` the top-level help.
      if (rest[0] !== undefined && rest[0] !== 'help') return main([commandNamed(rest[0]), '--help']);
      process.stdout.write(help(await version()));
      return 0;
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(help(await version()));
      return command === undefined ? 64 : 0;
    default:
      commandNamed(command);
      return 64;
  }
}

/** The command a word names, or a usage error with the command the user most likely meant. */
function commandNamed(word: string): string {
  if (word !== 'help' && VERBS.includes(word)) return word;
  const guess = closest(word, word.startsWith('-') ? TOP_OPTIONS : VERBS);
  throw new HarnessError(
    'ERR_ECHOLOT_USAGE',
    `unknown command '${word}' (${guess === undefined ? `commands: ${VERBS.join(', ')}; see 'echolot --help'` : `did you mean ${guess}?`})`,
  );
}

/** echolot's version, read from package.json when a command asks for it. */
async function version(): Promise<string> {
  return (await import('../version.js')).ECHOLOT_VERSION;
}

main(argv)
  .then(
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
  )
  .finally(() => {
    serveSignals?.dispose();
    interrupt?.dispose();
  });
