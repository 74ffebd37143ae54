/**
 * The report writer: the one place that turns a command's report (a list of rendered files, and
 * mochawesome's document when there is one) into files under `<report-dir>/<run-id>/`. Renderers
 * stay pure; this module does the I/O and raises the documented I/O error (exit 74) once.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import marge from 'mochawesome-report-generator';
import { HarnessError } from '../errors.js';
import { createDirectory, directoryProblem } from '../core/writable.js';

/** One rendered file of a report. */
export interface ReportFile {
  /** File name inside the run's directory, e.g. "summary.json". */
  readonly name: string;
  readonly content: string;
}

/** mochawesome's document of a mocha run, written as mochawesome.html and mochawesome.json. */
export interface MochawesomeReport {
  readonly doc: unknown;
  readonly title: string;
  readonly pageTitle: string;
}

/** Everything one run writes. */
export interface Report {
  readonly runId: string;
  readonly files: readonly ReportFile[];
  readonly mochawesome?: MochawesomeReport;
}

/** Where a report went: the run's directory and every file by name. */
export interface WrittenReport {
  readonly dir: string;
  /** Absolute path of each file, by name (mochawesome.html and .json included). */
  readonly paths: Readonly<Record<string, string>>;
}

/** The option that names the report directory, for messages. */
const OPTION = '--report-dir';

/** The documented I/O error for a report that cannot be written. */
function ioError(base: string, what: string, err: unknown): HarnessError {
  const why = err instanceof Error ? err.message : String(err);
  return new HarnessError('ERR_ECHOLOT_IO', `${OPTION} ${base}: cannot write ${what} (${why})`, {
    cause: err,
  });
}

/**
 * Checks before a run that `base` can hold reports (creating it when missing), so that an
 * unwritable directory is reported at once instead of after the run, and the run's results are not
 * lost. Quick everywhere, /proc and /sys included (harness/core/writable.ts).
 */
export async function prepareReportDir(base: string): Promise<void> {
  if (base.trim() === '') {
    throw new HarnessError('ERR_ECHOLOT_USAGE', `${OPTION} '': must be a directory path`);
  }
  const why = await directoryProblem(base);
  if (why !== undefined) throw new HarnessError('ERR_ECHOLOT_IO', `${OPTION} ${base}: ${why}`);
}

/** Writes `report` into `<base>/<run-id>/`; a failure is ERR_ECHOLOT_IO (exit 74). */
export async function writeReport(base: string, report: Report): Promise<WrittenReport> {
  const dir = resolve(base, report.runId);
  const paths: Record<string, string> = {};
  const why = await createDirectory(dir);
  if (why !== undefined) throw new HarnessError('ERR_ECHOLOT_IO', `${OPTION} ${base}: ${why}`);
  try {
    for (const f of report.files) {
      paths[f.name] = join(dir, f.name);
      await writeFile(paths[f.name] as string, f.content);
    }
    if (report.mochawesome) {
      const [html, json] = await marge.create(report.mochawesome.doc, {
        reportDir: dir,
        reportFilename: 'mochawesome',
        reportTitle: report.mochawesome.title,
        reportPageTitle: report.mochawesome.pageTitle,
        inline: true,
        charts: true,
        showHooks: 'failed',
        saveJson: true,
        saveHtml: true,
        overwrite: true,
        timestamp: false,
      });
      if (html) paths['mochawesome.html'] = html;
      if (json) paths['mochawesome.json'] = json;
    }
  } catch (err) {
    throw ioError(base, dir, err);
  }
  return { dir, paths };
}

/**
 * Writes one document outside a run's directory (a generated page of the docs, say), with the same
 * I/O error; `option` names the flag that chose the path.
 */
export async function writeDocument(option: string, path: string, content: string): Promise<void> {
  try {
    await writeFile(path, content);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new HarnessError('ERR_ECHOLOT_IO', `${option} ${path}: cannot write it (${why})`, { cause: err });
  }
}
