import { HarnessError } from '../errors.js';
import { mergeShards, readShardFiles } from '../load/merge.js';
import { evaluateThresholds, parseThresholds, thresholdsPassed } from '../load/thresholds.js';
import { loadRunReport } from '../report/load.js';
import { prepareReportDir, writeReport } from '../report/write.js';
import { renderLoadHeader, renderLoadResult } from '../reporters/load-console.js';
import { loadReport } from '../reporters/load-json.js';
import { renderShardTable } from '../reporters/load-shards.js';
import { parseCommandArgs, stringList, type CommandSpec, type OptionTable } from './args.js';
import { inCommandTerms, type FieldFlags, flagText } from './field-flags.js';
import { colorEnabled, displayPath } from './terminal.js';

export const HELP = `Usage: echolot merge FILE|DIR... [options]

Merges the shards of one distributed load run (echolot load --shard I/N --out FILE, or --shards N in a
Kubernetes Indexed Job) into the report of a single load run. Each FILE is a shard document; each DIR
is searched for *.json shard documents (other files are skipped).

The shards must be of one run: the same run id, target, options, shard count and histogram settings,
no shard twice. Histograms are decoded and added exactly (the merged percentiles are those of one
histogram of every value), counters summed, interval series merged by their absolute time.
Thresholds are judged on the merged result only. A missing shard is named and ends the merge
(exit 1) unless --allow-partial.

Options:
  --threshold EXPR     a pass/fail gate on the merged run, repeatable, as in echolot load:
                       p99<2ms, loss<0.1%, rate>=50k (see docs/load.md)
  --allow-partial      merge although shards are missing (the report names them)
  --json               print the merged result (with the thresholds and the shards) as JSON to
                       stdout; the console report then goes to stderr
  --report-dir DIR     where reports/<run-id>/ goes: index.html, load.json, intervals.ndjson,
                       junit.xml and summary.json (CTRF), as a load run writes them, with a table
                       of the shards (default: reports)
  -h, --help           this help

The per-shard table says where each shard ran, how late it started after --start-at, its rate,
loss and send lag, and flags the shards that were the bottleneck, lost most or lagged most.

Examples:
  echolot merge shard-0.json shard-1.json --threshold 'p99<2ms' --threshold 'loss<0.1%'
  echolot merge shards/ --allow-partial --report-dir reports
  echolot merge shards/ --json

Exit codes: 0 merged and every threshold holds (or none given), 1 a threshold is breached, or a shard
is missing (without --allow-partial), 64 usage error, 65 the files are not shards of one run (not a
shard document, another run id, target, options or histogram settings, a shard twice), 70 internal
error, 74 a file cannot be read or the report cannot be written.
`;

/** The options of `echolot merge`. */
export const OPTIONS: OptionTable = {
  threshold: { type: 'string', multiple: true },
  'allow-partial': { type: 'boolean' },
  json: { type: 'boolean' },
  'report-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** merge's options and help, for `echolot help` and `echolot completion`. */
export const MERGE_COMMAND: CommandSpec = { options: OPTIONS, help: HELP };

const FIELD_FLAGS: FieldFlags = {
  thresholds: { flag: '--threshold', repeated: true, quoted: true },
  allowPartial: { flag: '--allow-partial' },
};

const usage = (message: string): HarnessError => new HarnessError('ERR_ECHOLOT_USAGE', message);

/** `echolot merge`: reads the shards, merges them in the library, writes the run's reports; returns the exit code. */
export async function mergeCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('merge', argv, OPTIONS);
  if (values['help'] === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) {
    throw usage('merge needs the shard files or directories, e.g. echolot merge shard-0.json shard-1.json');
  }
  const reportDir = stringList(values['report-dir']).pop() ?? 'reports';
  if (reportDir.trim() === '') throw usage(`--report-dir '${reportDir}': must not be empty`);
  const text = flagText(values, OPTIONS);
  const thresholds = inCommandTerms(FIELD_FLAGS, text, () =>
    parseThresholds(stringList(values['threshold'])),
  );
  const json = values['json'] === true;
  const human = json ? process.stderr : process.stdout;
  const style = { color: colorEnabled(human) };

  await prepareReportDir(reportDir);
  const inputs = await readShardFiles(positionals);
  let merged;
  try {
    merged = mergeShards(inputs, { allowPartial: values['allow-partial'] === true });
  } catch (err) {
    if (err instanceof HarnessError && err.code === 'ERR_ECHOLOT_SHARDS_MISSING') {
      throw new HarnessError(err.code, err.message.replace('allowPartial', '--allow-partial'));
    }
    throw err;
  }
  const { result, shards, histograms } = merged;
  const outcomes = evaluateThresholds(result, thresholds);
  const report = { ...loadReport(result, outcomes), shards, histograms };
  const document = `${JSON.stringify(report, null, 2)}\n`;
  const written = await writeReport(
    reportDir,
    await loadRunReport(result.runId, document, { load: report, intervals: result.intervals }),
  );
  const path = (name: string): string | undefined => {
    const p = written.paths[name];
    return p === undefined ? undefined : displayPath(p);
  };
  human.write(`echolot merge: ${inputs.length} shard file(s) of run ${result.runId}\n`);
  human.write(renderLoadHeader(result));
  human.write(renderLoadResult(result, outcomes, style, { loadJson: path('load.json') ?? written.dir }));
  human.write(renderShardTable(shards, style));
  const summaryJson = path('summary.json');
  const junitXml = path('junit.xml');
  if (summaryJson !== undefined && junitXml !== undefined)
    human.write(`reports: ${summaryJson}\n         ${junitXml}\n`);
  const indexHtml = path('index.html');
  if (indexHtml !== undefined) human.write(`report: ${indexHtml}\n`);
  if (json) process.stdout.write(document);
  return thresholdsPassed(outcomes) ? 0 : 1;
}
