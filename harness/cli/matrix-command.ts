import { dirname, join } from 'node:path';
import { HarnessError } from '../errors.js';
import { loadMatrixConfig } from '../matrix/config.js';
import { runMatrix, type MatrixColumn } from '../matrix/run-matrix.js';
import { renderMatrixJson } from '../reporters/matrix.js';
import { matrixReport } from '../report/matrix.js';
import { writeDocument, writeReport } from '../report/write.js';
import { displayPath } from './terminal.js';
import { renderInteropDoc } from '../reporters/interop-doc.js';
import { commaList, parseCommandArgs, type OptionTable, type CommandSpec } from './args.js';

export const HELP = `Usage: echolot matrix --config FILE [options]

Runs the conformance catalogue against several echo servers side by side (an interop matrix):
each target of FILE is started (or reached), checked by its own 'echolot check', and stopped.
Writes reports/<run-id>/matrix.html, matrix.md and matrix.json (rows: cases, columns: servers,
cells: verdicts linked to each server's report in reports/<run-id>/<server>/). See docs/interop.md.

Options:
  --config FILE        the matrix config (JSON; interop/debian.json is the checked-in one)
  --targets NAMES      only these targets of the config (comma-separated or repeated)
  --only IDS           only these cases (IDs or globs), instead of the config's selection
  --report-dir DIR     where reports/<run-id>/ goes (default: reports)
  --doc FILE           also write the interop document (docs/interop.md) from this run
  --json               print matrix.json to stdout instead of the table
  -h, --help           this help

Examples:
  echolot matrix --config interop/debian.json
  echolot matrix --config interop/debian.json --targets reference --only '1.*,3.*'
  echolot matrix --config interop/debian.json --doc docs/interop.md

Verdicts do not decide the exit code: the matrix reports what other servers do.
Exit codes: 0 every target was checked, 64 usage error or a bad config (names the field),
69 a target did not start or did not answer, 70 a target's check failed (harness error),
74 a report or the --doc file cannot be written.
`;

/** The options of \`echolot matrix\`, as util.parseArgs takes them. */
export const OPTIONS: OptionTable = {
  config: { type: 'string' },
  targets: { type: 'string', multiple: true },
  only: { type: 'string', multiple: true },
  'report-dir': { type: 'string' },
  doc: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** matrix's options and help, for \`echolot help\` and \`echolot completion\`. */
export const MATRIX_COMMAND: CommandSpec = { options: OPTIONS, help: HELP };

const short = (c: MatrixColumn): string => {
  const counts = new Map<string, number>();
  for (const v of Object.values(c.cells)) counts.set(v.verdict, (counts.get(v.verdict) ?? 0) + 1);
  const text = [...counts].map(([v, n]) => `${n} ${v}`).join(', ');
  return c.status === 'checked' ? text : `${c.status}: ${c.reason ?? ''}`;
};

/** `echolot matrix`: runs the targets of a config and writes the matrix files; returns the exit code. */
export async function matrixCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('matrix', argv, OPTIONS);
  if (values['help']) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `matrix takes no positional arguments, got ${positionals.join(' ')}`,
    );
  }
  const config = typeof values['config'] === 'string' ? values['config'] : undefined;
  if (config === undefined || config.trim() === '') {
    throw new HarnessError('ERR_ECHOLOT_USAGE', `matrix needs --config FILE (see 'echolot matrix --help')`);
  }
  const reportDir = typeof values['report-dir'] === 'string' ? values['report-dir'] : 'reports';
  if (reportDir.trim() === '')
    throw new HarnessError('ERR_ECHOLOT_USAGE', '--report-dir: must be a directory path');
  const only = commaList('--only', values['only'], "case ID or glob, e.g. 1.1 or '3.*'");
  const targets = commaList('--targets', values['targets'], 'target of the config');
  const doc = typeof values['doc'] === 'string' ? values['doc'] : undefined;
  const json = values['json'] === true;
  const out = (s: string): void => {
    (json ? process.stderr : process.stdout).write(s);
  };
  const parsed = await loadMatrixConfig(config);
  const run = await runMatrix(
    parsed,
    { reportDir, only, targets },
    {
      onTargetStart: (name) => out(`  start  ${name}\n`),
      onTargetDone: (c) => out(`  done   ${c.name} in ${(c.durationMs / 1000).toFixed(1)} s: ${short(c)}\n`),
    },
  );
  const written = await writeReport(reportDirOf(run.reportDir), await matrixReport(run.result));
  const files = {
    index: written.paths['index.html'] ?? join(run.reportDir, 'index.html'),
    html: written.paths['matrix.html'] ?? join(run.reportDir, 'matrix.html'),
    md: written.paths['matrix.md'] ?? join(run.reportDir, 'matrix.md'),
    json: written.paths['matrix.json'] ?? join(run.reportDir, 'matrix.json'),
  };
  if (doc !== undefined) await writeDocument('--doc', doc, renderInteropDoc(run.result));
  const rel = displayPath;
  out(
    `\n${run.result.columns.length} servers x ${run.result.cases.length} cases in ${(run.result.durationMs / 1000).toFixed(1)} s\n` +
      `matrix: ${rel(files.html)}\n        ${rel(files.md)}\n        ${rel(files.json)}\n` +
      `report: ${rel(files.index)}\n` +
      (doc === undefined ? '' : `doc:    ${doc}\n`),
  );
  if (json) process.stdout.write(renderMatrixJson(run.result));
  const cols = run.result.columns;
  if (cols.some((c) => c.status === 'error' || c.exitCode === 70)) return 70;
  if (cols.some((c) => c.status === 'not-started')) return 69;
  return 0;
}

/** The base directory of a matrix run's directory (the writer adds the run id again). */
const reportDirOf = (runDir: string): string => dirname(runDir);
