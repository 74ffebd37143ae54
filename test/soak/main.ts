/** `npm run soak`: the full soak of the reference server (default 10 minutes), then a one-screen report. */
import { parseArgs } from 'node:util';
import { FULL_SOAK, renderSoakReport, runSoak, type SoakOptions } from './soak.js';

const HELP = `Usage: npm run soak -- [--duration 10m] [--rate PPS]

Runs echolot serve under steady verified traffic, a flooder above its per-source limit, ICMP
port-unreachable storms, maximum-size bursts and thousands of short-lived source ports; samples
the server's RSS, descriptors and metrics; prints a one-screen report. Exit 0 = PASS, 1 = FAIL.

  --duration D   how long traffic runs: 600, 90s, 10m (default 10m)
  --rate PPS     steady verified datagrams per second (default ${FULL_SOAK.steadyRate})
`;

function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) throw new Error(`--duration ${raw}: must be a number of seconds, or end in ms, s or m`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms < 5000 || ms > 86_400_000) throw new Error(`--duration ${raw}: must be between 5 s and 24 h`);
  return ms;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      rate: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const rate = values.rate === undefined ? FULL_SOAK.steadyRate : Number(values.rate);
  if (!Number.isInteger(rate) || rate < 8 || rate > 100_000)
    throw new Error('--rate: must be an integer in 8..100000');
  const options: SoakOptions = {
    ...FULL_SOAK,
    durationMs: values.duration === undefined ? FULL_SOAK.durationMs : parseDuration(values.duration),
    steadyRate: rate,
    progress: (line) => process.stderr.write(line),
  };
  const report = await runSoak(options);
  process.stdout.write(renderSoakReport(report));
  return report.problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
