/**
 * `npm run bench`: echolot's reference server and generator measured side by side with textbook and
 * C baselines in one run, so the ratios hold even when absolute figures drift (docs/benchmarks.md).
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { BrokenSetup, CLI, EXIT_BROKEN, parseArgs, USAGE, type BenchConfig } from './config.js';
import { makeGenerators, type Generators } from './generators.js';
import { buildC, decidePinning, stopCommands, type Pinning } from './machine.js';
import { renderHeader, renderSummary, renderTable } from './render.js';
import { writeReport } from './report.js';
import {
  generatorRows,
  largeGeneratorRows,
  largeServerRows,
  measureRows,
  pingPongRows,
  rateRows,
  serverRows,
  sockperfRows,
  type Row,
} from './rows.js';
import {
  startLoopbackServers,
  startVeth,
  stopVeth,
  vethUnavailable,
  type Server,
  type Veth,
} from './servers.js';
import { makeSockperf, sockperfUnavailable, startSockperfServer } from './sockperf.js';
import { summarize } from './summary.js';

function out(lines: readonly string[]): void {
  for (const line of lines) process.stdout.write(`${line}\n`);
}

/** Exit codes of a bench stopped by a signal (as the CLI's). */
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Starts the servers, measures every row config.reps times, interleaved, and stops the servers again,
 * also when the bench is stopped by SIGINT or SIGTERM (then without a report: a partial table would
 * read as a result).
 */
async function measure(config: BenchConfig, pin: Pinning, buildDir: string, g: Generators): Promise<Row[]> {
  const servers: Server[] = [];
  let veth: Veth | undefined;
  let stopped: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all([stopCommands(), ...servers.map((s) => s.stop())]);
      if (veth) await stopVeth(veth);
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    void cleanup().finally(() => {
      process.stderr.write(
        `bench: interrupted by ${signal}: servers and test host stopped, no report written\n`,
      );
      process.exit(SIGNAL_EXIT[signal] ?? 1);
    });
  };
  // Not `once`: a listener that stays tells harness/testhost/netns.ts (which removes the test host on
  // the signal) that somebody handles it, so it does not re-raise it to end the process at once.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const local = await startLoopbackServers(pin, buildDir, servers);
    const vethWhyNot = await vethUnavailable();
    if (vethWhyNot === undefined) veth = await startVeth(pin, buildDir);
    const sockperfWhyNot = await sockperfUnavailable();
    let sockperfServer: Server | undefined;
    if (sockperfWhyNot === undefined) {
      sockperfServer = await startSockperfServer(pin);
      servers.push(sockperfServer);
    }
    const extra = { ms: config.extraFloodMs, warmupMs: config.extraWarmupMs };
    const rows = [
      ...serverRows(g, local, veth, vethWhyNot),
      ...largeServerRows(g, local, extra),
      ...generatorRows(g, local.mmsg),
      ...largeGeneratorRows(g, local.mmsg, extra, config.quick),
      ...pingPongRows(g, local.mmsg),
      ...rateRows(g, local.mmsg),
      ...sockperfRows(makeSockperf(config, pin), sockperfServer, sockperfWhyNot, config.size, config.quick),
    ];
    await measureRows(rows, config.reps);
    return rows;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    out([USAGE]);
    return 0;
  }
  const config = parseArgs(argv);
  if (!existsSync(CLI)) throw new BrokenSetup(`${CLI} is missing: run npm run build first`);
  const startedAt = new Date();
  const loadBefore = loadavg();
  const { built, dir: buildDir } = await buildC();
  const pin = await decidePinning(config);
  const generators = makeGenerators(config, pin, buildDir);
  out(renderHeader(config, pin, built, buildDir, loadBefore, cpus().length));

  const rows = await measure(config, pin, buildDir, generators);

  const summary = summarize(rows);
  out(renderTable(rows, summary));
  const loadAfter = loadavg();
  out(renderSummary(rows, summary, config.reps, loadAfter));
  const file = writeReport({ config, pin, startedAt, loadBefore, loadAfter }, rows, summary);
  out([`report: ${file}`]);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const broken = err instanceof BrokenSetup;
    const text = err instanceof Error ? (broken ? err.message : (err.stack ?? err.message)) : String(err);
    process.stderr.write(`bench: ${broken ? 'broken setup: ' : 'internal error: '}${text}\n`);
    process.exitCode = EXIT_BROKEN;
  },
);
