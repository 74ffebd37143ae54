#!/usr/bin/env node
// The generator's RSS under a sustained flood (`npm run soak:load`): node scripts/rss-check.mjs [--duration S]
// [--limit MB]. Needs a build (dist/). Prints one line per second and the verdict; exits 1 when RSS
// reaches the limit or is not flat (mean of the last 10 s within 20% of the mean of 10..20 s).
import { parseArgs } from 'node:util';
import { runRssSoak } from '../dist/harness/load/rss-soak.js';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '60' }, limit: { type: 'string', default: '300' } },
});
const durationS = Number(values.duration);
const limitMb = Number(values.limit);
if (!(Number.isInteger(durationS) && durationS >= 1 && durationS <= 3600)) {
  process.stderr.write(
    `rss-check: --duration ${values.duration}: must be an integer number of seconds in 1..3600\n`,
  );
  process.exit(64);
}
if (!(limitMb > 0)) {
  process.stderr.write(`rss-check: --limit ${values.limit}: must be a number of MB above 0\n`);
  process.exit(64);
}
process.stdout.write(
  `rss-check: ${durationS} s flood against the embedded reference server, RSS limit ${limitMb} MB\n`,
);
const r = await runRssSoak({ durationS, limitMb });
for (const s of r.samples)
  process.stdout.write(`  ${s.atS.toFixed(1).padStart(6)} s  rss ${s.rssMb} MB  heap ${s.heapUsedMb} MB\n`);
const l = r.load;
process.stdout.write(
  `flood: ${l.counters.sent} sent, ${l.rates.echoes}/s echoed, lost ${l.counters.lost}, generator ${l.generator.bottleneck ? `bottleneck (${l.generator.reasons.join('; ')})` : 'healthy'}\n` +
    `rss: max ${r.maxMb} MB` +
    (r.earlyMeanMb === null
      ? ' (too short to judge flatness)'
      : `, mean ${r.earlyMeanMb} MB early, ${r.lateMeanMb} MB in the last window`) +
    `\n${r.ok ? 'OK' : `FAIL: ${r.reasons.join('; ')}`}\n`,
);
process.exitCode = r.ok ? 0 : 1;
