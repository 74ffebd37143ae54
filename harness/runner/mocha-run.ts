/**
 * Mocha, driven programmatically: the caller registers its tests on the root suite (no spec files
 * are loaded, so no run state has to reach them through module variables), mocha runs them, and
 * mochawesome collects the run into its report document, which is returned, not written: the
 * report writer (harness/report/) writes it with the run's other files.
 */
import Mocha from 'mocha';
import Mochawesome from 'mochawesome';

/** Options for one programmatic mocha run. */
export interface MochaRunOptions {
  /** Adds the run's suites and tests to mocha's root suite. */
  readonly register: (root: Mocha.Suite) => void;
  /** Per-test timeout: a backstop above every test's own bounded waits. */
  readonly timeoutMs: number;
}

/** What a mocha run produced. */
export interface MochaRun {
  /** Mocha's failure count: informative only, verdicts come from the caller's own records. */
  readonly failures: number;
  /** mochawesome's report document (stats, suites, tests with their context). */
  readonly report: unknown;
}

/** Options mocha hands the reporter, with the place the document goes. */
interface CaptureOptions extends Mocha.MochaOptions {
  readonly reporterOptions: {
    readonly consoleReporter: 'none';
    readonly quiet: true;
    readonly sink: (doc: unknown) => void;
  };
}

/** mochawesome, with its file writing replaced by handing the document to the run. */
class CapturedReport extends Mochawesome {
  constructor(runner: Mocha.Runner, options: CaptureOptions) {
    super(runner, options);
    const sink = options.reporterOptions.sink;
    this.done = (failures, exit) => {
      sink(this.output);
      exit?.(failures);
    };
  }
}

/** Runs the registered tests and returns mochawesome's document of the run. */
export async function runMocha(options: MochaRunOptions): Promise<MochaRun> {
  let report: unknown;
  const mocha = new Mocha({
    reporter: CapturedReport as unknown as Mocha.ReporterConstructor,
    reporterOptions: {
      consoleReporter: 'none',
      quiet: true,
      sink: (doc: unknown) => {
        report = doc;
      },
    },
    timeout: options.timeoutMs,
    slow: 2000,
  });
  options.register(mocha.suite);
  try {
    const failures = await new Promise<number>((resolve) => mocha.run(resolve));
    return { failures, report };
  } finally {
    mocha.dispose();
  }
}
