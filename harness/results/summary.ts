import type { CaseDefinition } from './catalogue.js';
import type { CaseResult } from './case-result.js';
import { VERDICTS, type Verdict } from './verdict.js';
import type { Family } from '../protocol/constants.js';
import type { Capabilities } from '../runner/capabilities.js';

/** Who ran what against what: the header of every report. */
export interface RunInfo {
  readonly runId: string;
  readonly tool: { readonly name: 'echolot'; readonly version: string };
  readonly target: {
    /** As the user gave it, or "embedded reference server". */
    readonly input: string;
    readonly host: string;
    readonly address: string;
    readonly port: number;
    readonly family: Family;
    readonly embedded: boolean;
  };
  readonly options: {
    readonly strict: boolean;
    readonly selected: readonly string[];
    readonly seed?: number;
    readonly timeoutMs: number;
    readonly retries: number;
  };
  readonly platform: { readonly os: string; readonly node: string; readonly privileged: boolean };
  /** What the capability probe found before the cases (privilege, raw sockets, IPv6, sizes, aliases). */
  readonly capabilities?: Capabilities;
  /** Which datagram I/O path the harness used. */
  readonly ioPath: string;
  readonly preflight: { readonly rttMs: number; readonly note?: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
}

/** The outcome of a run: counts by verdict, every case, and the exit code they imply. */
export interface Summary {
  readonly run: RunInfo;
  readonly counts: Readonly<Record<Verdict, number>>;
  readonly total: number;
  readonly cases: readonly CaseResult[];
  readonly exitCode: number;
}

/**
 * Exit code from the verdicts (CONFORMANCE.md): 1 when any case FAILed (the target is wrong),
 * else 70 when the harness or environment errored, else 0.
 */
export function decideExitCode(counts: Readonly<Record<Verdict, number>>): number {
  if (counts.FAIL > 0) return 1;
  if (counts.ERROR > 0) return 70;
  return 0;
}

/**
 * Builds the summary in catalogue order. A selected case that recorded no result (mocha aborted,
 * a hook failed) becomes an ERROR entry, so that no selected case is silently missing.
 */
export function summarize(
  run: RunInfo,
  selected: readonly CaseDefinition[],
  results: readonly CaseResult[],
): Summary {
  const byId = new Map(results.map((r) => [r.id, r]));
  const cases = selected.map(
    (def): CaseResult =>
      byId.get(def.id) ?? {
        id: def.id,
        title: def.title,
        klass: def.klass,
        verdict: 'ERROR',
        message: 'no result was recorded for this case (the run was interrupted)',
        requirement: def.requirement,
        source: def.source,
        evidence: {},
        attempts: 0,
        durationMs: 0,
        startedAt: run.finishedAt,
      },
  );
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const c of cases) counts[c.verdict]++;
  return { run, counts, total: cases.length, cases, exitCode: decideExitCode(counts) };
}
