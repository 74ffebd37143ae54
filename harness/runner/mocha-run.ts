import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Where the compiled conformance specs live (dist/suites/conformance). */
export const CONFORMANCE_DIR = fileURLToPath(new URL('../../suites/conformance/', import.meta.url));

/** The spec files of a suite directory, sorted numerically so catalogue sections run in order (2 before 10). */
export function specFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.spec.js'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => join(dir, f));
}

/** Options for one programmatic mocha run. */
export interface MochaRunOptions {
  readonly files: readonly string[];
  readonly runId: string;
  readonly reportDir: string;
  /** Per-test timeout: a backstop above every case's own bounded waits. */
  readonly timeoutMs: number;
  /** Title of the mochawesome report. @defaultValue `echolot check <run-id>` */
  readonly reportTitle?: string;
  /** Page title of the mochawesome report. @defaultValue 'echolot conformance' */
  readonly pageTitle?: string;
}

/**
 * Runs mocha programmatically with the mochawesome reporter writing into the report directory.
 * Returns mocha's failure count, which is informative only: verdicts come from the collector.
 */
export async function runMocha(options: MochaRunOptions): Promise<number> {
  const mocha = new Mocha({
    reporter: 'mochawesome',
    reporterOptions: {
      reportDir: options.reportDir,
      reportFilename: 'mochawesome',
      reportTitle: options.reportTitle ?? `echolot check ${options.runId}`,
      reportPageTitle: options.pageTitle ?? 'echolot conformance',
      inline: true,
      html: true,
      json: true,
      quiet: true,
      consoleReporter: 'none',
      showHooks: 'failed',
      charts: true,
    },
    timeout: options.timeoutMs,
    slow: 2000,
  });
  for (const f of options.files) mocha.addFile(f);
  // A query string makes every run import the spec files afresh: ESM modules cannot be unloaded.
  const load = mocha.loadFilesAsync as unknown as (o: { esmDecorator: (u: URL) => string }) => Promise<void>;
  await load.call(mocha, { esmDecorator: (u) => `${u.href}?run=${options.runId}` });
  try {
    return await new Promise<number>((resolve) => mocha.run(resolve));
  } finally {
    mocha.dispose();
  }
}
