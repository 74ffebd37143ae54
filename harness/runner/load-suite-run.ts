/**
 * `echolot load --suite`: runs the load gates of suites/load under mocha against one target and
 * writes reports/<run-id>/ like `echolot check` does: mochawesome.html/json, summary.json (CTRF,
 * one test per gate) and junit.xml.
 */
import { runMocha } from './mocha-run.js';
import { LOAD_GATES } from '../../suites/load/index.js';
import { newRunId } from '../core/run-id.js';
import { acquireTarget, unreachableTarget } from '../target/acquire.js';
import { ERROR_CATALOGUE } from '../errors.js';
import { DEFAULT_PREFLIGHT } from '../target/preflight.js';
import { registerGates, type GateGroup, type GateRecord } from '../load/suite.js';
import { formatEndpoint } from '../core/address.js';
import { interruptReason, signalExitCode } from '../core/exit-signal.js';

/** Options of a suite run. */
export interface LoadSuiteOptions {
  /** HOST:PORT; absent = the reference server in a child process on loopback. */
  readonly target?: string;
  readonly ownTarget?: boolean;
  /** Preflight a given target before the first gate (the embedded server is not). @defaultValue true */
  readonly preflight?: boolean;
  /** The gates to run. @defaultValue every group of suites/load */
  readonly groups?: readonly GateGroup[];
  /** Called as each gate ends. */
  readonly onGate?: (g: GateRecord) => void;
  /**
   * Aborting it stops the suite: the gate under way ends early and it and the later gates are recorded
   * as not run (`GateRecord.notRun`); the run is marked `interrupted` with the abort reason.
   */
  readonly signal?: AbortSignal;
}

/** What a suite run produced. */
export interface LoadSuiteRun {
  readonly runId: string;
  readonly target: {
    readonly input: string;
    readonly address: string;
    readonly port: number;
    readonly embedded: boolean;
  };
  readonly gates: readonly GateRecord[];
  /**
   * Set when the suite did not start: the target did not answer the preflight. `gates` then holds
   * one gate "preflight" whose error is the diagnosis, and `exitCode` is 69.
   */
  readonly notStarted?: { readonly stage: 'preflight'; readonly diagnosis: string };
  /** Set when `signal` stopped the suite: the abort reason (the CLI's signal name). */
  readonly interrupted?: string;
  /**
   * 0 every gate passed, 1 a threshold breached, 70 a gate could not run, 69 it did not start,
   * 130/143 interrupted (SIGINT/SIGTERM).
   */
  readonly exitCode: number;
  readonly startedAt: string;
  readonly durationMs: number;
  /** mochawesome's document of the run (one test per gate, its figures attached). */
  readonly mochawesome: unknown;
}

/** Backstop per gate; each gate sets its own, tighter timeout from its durations. */
const GATE_TIMEOUT_MS = 60_000;

/**
 * Runs the load gates: resolve the target (or start the embedded server), preflight it, run the
 * specs under mocha with mochawesome, then write summary.json and junit.xml.
 * Throws HarnessError for usage errors (64), an unreachable target (69) and unwritable reports (74).
 */
export async function runLoadSuite(options: LoadSuiteOptions = {}): Promise<LoadSuiteRun> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const acquired = await acquireTarget(options.target, {
    embedded: 'child',
    // The embedded server is known to answer; a given target gets the preflight `check` runs.
    ...(options.target === undefined || options.preflight === false ? {} : { preflight: DEFAULT_PREFLIGHT }),
  });
  try {
    const t = acquired.target;
    const target: LoadSuiteRun['target'] = {
      input: t.embedded ? 'embedded' : t.input,
      address: t.address,
      port: t.port,
      embedded: t.embedded,
    };
    const runId = newRunId(new Date(started));
    const gates: GateRecord[] = [];
    const mocha = await runMocha({
      register: (root) =>
        registerGates(root, options.groups ?? LOAD_GATES, {
          target: formatEndpoint(target.address, target.port),
          ownTarget: options.ownTarget ?? false,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          record: (g) => {
            gates.push(g);
            options.onGate?.(g);
          },
        }),
      timeoutMs: GATE_TIMEOUT_MS,
    });
    const interrupted = options.signal?.aborted === true ? interruptReason(options.signal) : undefined;
    const exitCode =
      interrupted !== undefined
        ? signalExitCode(interrupted)
        : gates.some((g) => g.error !== undefined)
          ? 70
          : gates.every((g) => g.passed)
            ? 0
            : 1;
    return {
      runId,
      target,
      gates,
      ...(interrupted === undefined ? {} : { interrupted }),
      exitCode,
      startedAt,
      durationMs: Date.now() - started,
      mochawesome: mocha.report,
    };
  } finally {
    await acquired.close();
  }
}

/**
 * The run of a suite that `err` kept from starting, when `err` is a target that did not answer the
 * preflight (for its reports: one gate "preflight" with the diagnosis); undefined for any other error.
 * `started`: when the suite began (ms since the epoch).
 */
export function notStartedSuite(err: unknown, started: number): LoadSuiteRun | undefined {
  const unreachable = unreachableTarget(err);
  if (unreachable === undefined || !(err instanceof Error)) return undefined;
  const t = unreachable.target;
  const durationMs = Date.now() - started;
  return {
    runId: newRunId(new Date(started)),
    target: { input: t.input, address: t.address, port: t.port, embedded: t.embedded },
    gates: [
      {
        title: 'preflight',
        file: 'preflight',
        passed: false,
        error: err.message,
        thresholds: [],
        durationMs,
      },
    ],
    notStarted: { stage: 'preflight', diagnosis: err.message },
    exitCode: ERROR_CATALOGUE.ERR_ECHOLOT_UNREACHABLE,
    startedAt: new Date(started).toISOString(),
    durationMs,
    mochawesome: undefined,
  };
}
