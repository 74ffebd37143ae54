import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { HarnessError } from '../errors.js';
import { loadMatrixConfig } from '../matrix/config.js';
import { runMatrix, type MatrixColumn, type MatrixResult } from '../matrix/run-matrix.js';
import { loadChartAssets } from '../reporters/html-assets.js';
import { renderIndexHtml, type MatrixSection } from '../reporters/html-report.js';
import { renderMatrixHtml, renderMatrixJson, renderMatrixMarkdown } from '../reporters/matrix.js';
import { renderInteropDoc } from '../reporters/interop-doc.js';
import { parseCommandArgs, stringList } from './args.js';

const HELP = `Usage: echolot matrix --config FILE [options]

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

Verdicts do not decide the exit code: the matrix reports what other servers do.
Exit codes: 0 every target was checked, 64 usage error or a bad config (names the field),
69 a target did not start or did not answer, 70 a target's check failed (harness error).
`;

const short = (c: MatrixColumn): string => {
  const counts = new Map<string, number>();
  for (const v of Object.values(c.cells)) counts.set(v.verdict, (counts.get(v.verdict) ?? 0) + 1);
  const text = [...counts].map(([v, n]) => `${n} ${v}`).join(', ');
  return c.status === 'checked' ? text : `${c.status}: ${c.reason ?? ''}`;
};

/** `echolot matrix`: runs the targets of a config and writes the matrix files; returns the exit code. */
export async function matrixCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('matrix', argv, {
    config: { type: 'string' },
    targets: { type: 'string', multiple: true },
    only: { type: 'string', multiple: true },
    'report-dir': { type: 'string' },
    doc: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
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
  const split = (v: (typeof values)[string]): string[] =>
    stringList(v)
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
  const reportDir = typeof values['report-dir'] === 'string' ? values['report-dir'] : 'reports';
  if (reportDir.trim() === '')
    throw new HarnessError('ERR_ECHOLOT_USAGE', '--report-dir: must be a directory path');
  const doc = typeof values['doc'] === 'string' ? values['doc'] : undefined;
  const json = values['json'] === true;
  const out = (s: string): void => {
    (json ? process.stderr : process.stdout).write(s);
  };
  const parsed = await loadMatrixConfig(config);
  const run = await runMatrix(
    parsed,
    { reportDir, only: split(values['only']), targets: split(values['targets']) },
    {
      onTargetStart: (name) => out(`  start  ${name}\n`),
      onTargetDone: (c) => out(`  done   ${c.name} in ${(c.durationMs / 1000).toFixed(1)} s: ${short(c)}\n`),
    },
  );
  const files = {
    index: join(run.reportDir, 'index.html'),
    html: join(run.reportDir, 'matrix.html'),
    md: join(run.reportDir, 'matrix.md'),
    json: join(run.reportDir, 'matrix.json'),
  };
  try {
    await writeFile(files.json, renderMatrixJson(run.result));
    await writeFile(files.md, renderMatrixMarkdown(run.result));
    await writeFile(files.html, renderMatrixHtml(run.result));
    const links = ['matrix.html', 'matrix.md', 'matrix.json'].map((f) => ({ label: f, href: f }));
    await writeFile(
      files.index,
      renderIndexHtml({ matrix: matrixSection(run.result), links }, await loadChartAssets()),
    );
    if (doc !== undefined) await writeFile(doc, renderInteropDoc(run.result));
  } catch (err) {
    throw new HarnessError('ERR_ECHOLOT_IO', `cannot write the matrix: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const rel = (p: string): string =>
    relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p);
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

/** The matrix as the HTML report shows it: each cell linked to the case's row in that server's report. */
export function matrixSection(result: MatrixResult): MatrixSection {
  const checked = result.columns.filter((c) => c.reportDir !== undefined);
  return {
    columns: result.columns.map((c) => ({
      id: c.name,
      label: c.name,
      ...(c.reportDir === undefined ? {} : { href: `${c.reportDir}/index.html` }),
    })),
    rows: result.cases.map((k) => ({
      id: k.id,
      title: k.title,
      cells: Object.fromEntries(
        checked.flatMap((c) => {
          const cell = c.cells[k.id];
          return cell === undefined
            ? []
            : [
                [
                  c.name,
                  {
                    verdict: cell.verdict,
                    message: cell.message,
                    href: `${c.reportDir}/index.html#case-${k.id}`,
                  },
                ],
              ];
        }),
      ),
    })),
  };
}
