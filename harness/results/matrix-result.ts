import type { Verdict } from './verdict.js';

/** Options every target's check runs with. */
export interface MatrixCheckOptions {
  readonly only: readonly string[];
  readonly exclude: readonly string[];
  /** A fixed seed, so the property cases draw the same payloads for every server and every run. @defaultValue 862 */
  readonly seed: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly runs: number;
}

/** One cell: a case's verdict against one server. */
export interface MatrixCell {
  readonly verdict: Verdict;
  readonly message: string;
  readonly attempts: number;
}

/** One column: a server and what became of its check. */
export interface MatrixColumn {
  readonly name: string;
  readonly description: string;
  readonly version: string;
  /** checked: it ran (cells filled); not-started: it never answered; error: the check itself failed. */
  readonly status: 'checked' | 'not-started' | 'error';
  /** Why it is not 'checked'. */
  readonly reason?: string;
  readonly address?: string;
  readonly targetAddrs?: readonly string[];
  readonly commandLine?: string;
  readonly files?: Readonly<Record<string, string>>;
  readonly where?: string;
  /** The server's process id, when the matrix started it (given to its check as --target-pid, case 10.4). */
  readonly pid?: number;
  readonly notes: readonly string[];
  /** The check's exit code (0, 1, 69, 70). */
  readonly exitCode?: number;
  /** The per-target report directory, relative to matrix.json. */
  readonly reportDir?: string;
  readonly durationMs: number;
  /** Case ID -> cell; a selected case without a cell did not run for this server. */
  readonly cells: Readonly<Record<string, MatrixCell>>;
}

/** Everything a matrix run found; matrix.json is this object. */
export interface MatrixResult {
  readonly format: 'echolot-matrix/1';
  readonly runId: string;
  readonly title: string;
  readonly tool: { readonly name: 'echolot'; readonly version: string };
  readonly config: string;
  readonly check: MatrixCheckOptions;
  readonly concurrency: number;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  /** Rows: every case selected for at least one server, in catalogue order. */
  readonly cases: readonly { readonly id: string; readonly title: string; readonly klass: string }[];
  readonly columns: readonly MatrixColumn[];
}
