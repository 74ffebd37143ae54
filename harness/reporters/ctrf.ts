/**
 * The CTRF document (Common Test Report Format, https://ctrf.io) that every summary.json is: the
 * conformance check's and the load gates'. Only the fields of the spec echolot fills are typed here;
 * the schema allows no other key at any level, so everything of echolot's own (verdicts, evidence,
 * load figures, run details) goes in an `extra` object. `test/unit/ctrf.test.ts` validates both
 * renderers' output against the schema of the `ctrf` package. Pure.
 */

/** The CTRF spec version these documents follow. */
export const CTRF_SPEC_VERSION = '0.0.0';

export type CtrfStatus = 'passed' | 'failed' | 'skipped' | 'pending' | 'other';

/** Anything of echolot's own: CTRF's extension point at every level. */
export type CtrfExtra = Readonly<Record<string, unknown>>;

export interface CtrfTest {
  readonly name: string;
  readonly status: CtrfStatus;
  /** Milliseconds, an integer (use `ctrfMs`). */
  readonly duration: number;
  /** A stable id of the test, e.g. the case id "3.1". */
  readonly testId?: string;
  /** The tool's own status before mapping to `status`, e.g. the verdict "NON-STRICT". */
  readonly rawStatus?: string;
  readonly message?: string;
  /** The suite path from the top down: at least one name. */
  readonly suite?: readonly [string, ...string[]];
  readonly flaky?: boolean;
  /** Re-executions after the first attempt, an integer >= 0. */
  readonly retries?: number;
  readonly extra?: CtrfExtra;
}

export interface CtrfEnvironment {
  readonly reportName?: string;
  readonly appName?: string;
  readonly appVersion?: string;
  readonly osPlatform?: string;
  readonly extra?: CtrfExtra;
}

export interface CtrfDocument {
  readonly reportFormat: 'CTRF';
  readonly specVersion: string;
  readonly runId: string;
  /** When the document was made (RFC 3339). */
  readonly timestamp: string;
  readonly generatedBy: string;
  readonly results: {
    readonly tool: { readonly name: string; readonly version?: string };
    readonly summary: {
      readonly tests: number;
      readonly passed: number;
      readonly failed: number;
      readonly skipped: number;
      readonly pending: number;
      readonly other: number;
      readonly flaky: number;
      readonly suites: number;
      readonly start: number;
      readonly stop: number;
      readonly duration: number;
    };
    readonly tests: readonly CtrfTest[];
    readonly environment?: CtrfEnvironment;
    readonly extra?: CtrfExtra;
  };
}

/** A time or duration in milliseconds as CTRF wants it: a non-negative integer (0 when unknown). */
export const ctrfMs = (ms: number): number => (Number.isFinite(ms) && ms > 0 ? Math.round(ms) : 0);

/** What `ctrfDocument` needs besides the tests. */
export interface CtrfRun {
  readonly runId: string;
  readonly version: string;
  /** Start of the run, ISO 8601. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly environment?: CtrfEnvironment;
  readonly extra?: CtrfExtra;
}

/** The whole document: the summary counted from the tests, times in integer milliseconds. */
export function ctrfDocument(run: CtrfRun, tests: readonly CtrfTest[]): CtrfDocument {
  const start = ctrfMs(Date.parse(run.startedAt));
  const duration = ctrfMs(run.durationMs);
  const count = (status: CtrfStatus): number => tests.filter((t) => t.status === status).length;
  return {
    reportFormat: 'CTRF',
    specVersion: CTRF_SPEC_VERSION,
    runId: run.runId,
    timestamp: new Date(start + duration).toISOString(),
    generatedBy: `echolot ${run.version}`,
    results: {
      tool: { name: 'echolot', version: run.version },
      summary: {
        tests: tests.length,
        passed: count('passed'),
        failed: count('failed'),
        skipped: count('skipped'),
        pending: count('pending'),
        other: count('other'),
        flaky: tests.filter((t) => t.flaky === true).length,
        suites: new Set(tests.map((t) => (t.suite ?? []).join('\u0000'))).size,
        start,
        stop: start + duration,
        duration,
      },
      tests,
      ...(run.environment ? { environment: run.environment } : {}),
      ...(run.extra ? { extra: run.extra } : {}),
    },
  };
}

/** The document as a file: indented JSON, a newline at the end. */
export const renderCtrf = (doc: CtrfDocument): string => `${JSON.stringify(doc, null, 2)}\n`;
