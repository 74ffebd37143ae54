import { runCheck } from '../runner/run-check.js';
import {
  renderCaseLine,
  renderExpectationsUpdate,
  renderRunHeader,
  renderSummary,
  type ConsoleStyle,
} from '../reporters/console.js';
import { CATALOGUE } from '../results/catalogue.js';
import { selectCases } from '../spec/selection.js';
import { parseCommandArgs, parseIntegerOption, stringList } from './args.js';
import { relative } from 'node:path';
import { readFile } from 'node:fs/promises';
import { HarnessError } from '../errors.js';
import { MAX_ANNOTATIONS, renderCheckAnnotations } from '../reporters/github.js';
import { renderCheckMarkdown } from '../reporters/markdown.js';
import { appendStepSummary, colorEnabled, inGithubActions } from './terminal.js';

const HELP = `Usage: echolot check [HOST:PORT] [options]

Runs the RFC 862 conformance catalogue against a UDP echo server and writes reports/<run-id>/.
Without HOST:PORT the reference server is started in-process on an ephemeral port and checked.
HOST:PORT may be 192.0.2.1:7, [2001:db8::1]:7 or echo.example:7.

Options:
  --only IDS           run only these cases: IDs or globs, comma-separated or repeated (1.1, 3, 3.*)
  --exclude IDS        leave out these cases (same forms as --only)
  --list               print the selected cases as JSON and exit
  --strict             SHOULD violations (NON-STRICT) become FAIL
  --seed N             fast-check seed of the property cases (printed by every run; replays one)
  --path PATH          fast-check path of a counterexample to replay (with --seed)
  --runs N             runs of each property case (default 200)
  --timeout MS         wait for one reply (default 1000)
  --retries N          extra attempts after a timeout, never after a wrong reply (default 2)
  --report-dir DIR     where reports/<run-id>/ goes (default: reports)
  --json               print summary.json to stdout instead of the console summary
  --no-preflight       run the cases even when the target does not answer the preflight
  --target-addrs ADDRS further addresses of the same server (secondary IPs, other interfaces) for case 4.4
  --expectations FILE  judge the run against an expectations file (docs/ci.md): an expected FAIL exits 0,
                       an unexpected FAIL exits 1; cases the file does not list may be anything but FAIL/ERROR
  --update-expectations FILE
                       write (merge) FILE from this run: FAIL and NON-STRICT verdicts are recorded under
                       this target, bug links and conditions of entries that still apply are kept
  --fail-on-unexpected-pass
                       exit 2 when a case passes that the expectations say fails (stale expectations)
  -h, --help           this help

Verdicts: PASS, FLAKY (passed after a timeout retry), INFO (a finding), NON-STRICT (a SHOULD is not
met), UNSUPPORTED (cannot run here; says why), FAIL (a MUST is violated), ERROR (the harness failed).

Exit codes: 0 all results as expected (no FAIL or ERROR, or only the ones the expectations file
expects), 1 an unexpected FAIL, 2 an unexpected pass with --fail-on-unexpected-pass,
64 usage error, empty selection, or a missing or malformed expectations file,
69 target unreachable at preflight or name does not resolve, 70 harness error (an unexpected ERROR).
Every run writes reports/<run-id>/index.html (the report to open: one file, no network needed),
summary.json (CTRF), junit.xml and mochawesome.html; the path of index.html is printed last.
On GitHub Actions (GITHUB_ACTIONS=true) the first ${MAX_ANNOTATIONS} FAIL/ERROR cases become annotations, and a
Markdown summary is appended to $GITHUB_STEP_SUMMARY when it is set. Colour only on a terminal;
NO_COLOR turns it off, FORCE_COLOR on.
`;

/** `echolot check`: parses options, runs the catalogue, prints progress and the summary, returns the exit code. */
export async function checkCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('check', argv, {
    only: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    list: { type: 'boolean' },
    strict: { type: 'boolean' },
    seed: { type: 'string' },
    path: { type: 'string' },
    runs: { type: 'string' },
    timeout: { type: 'string' },
    retries: { type: 'string' },
    'report-dir': { type: 'string' },
    json: { type: 'boolean' },
    'no-preflight': { type: 'boolean' },
    'target-addrs': { type: 'string', multiple: true },
    expectations: { type: 'string' },
    'update-expectations': { type: 'string' },
    'fail-on-unexpected-pass': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values['help']) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 1) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `check takes one target, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  const split = (v: (typeof values)[string]): string[] =>
    stringList(v)
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
  const only = split(values['only']);
  const exclude = split(values['exclude']);
  if (values['list']) {
    process.stdout.write(`${JSON.stringify(selectCases(CATALOGUE, only, exclude), null, 2)}\n`);
    return 0;
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? values[k] : undefined);
  const seedText = str('seed');
  const seed = seedText === undefined ? undefined : /^-?\d+$/.test(seedText) ? Number(seedText) : NaN;
  if (seed !== undefined && Number.isNaN(seed)) {
    throw new HarnessError('ERR_ECHOLOT_USAGE', `--seed ${seedText}: must be an integer`);
  }
  const json = values['json'] === true;
  const style: ConsoleStyle = { color: colorEnabled(json ? process.stderr : process.stdout) };
  const out = (s: string): void => {
    (json ? process.stderr : process.stdout).write(s);
  };
  const run = await runCheck(
    {
      ...(positionals[0] === undefined ? {} : { target: positionals[0] }),
      only,
      exclude,
      strict: values['strict'] === true,
      preflight: values['no-preflight'] !== true,
      targetAddrs: split(values['target-addrs']),
      ...(seed === undefined ? {} : { seed }),
      ...(str('path') === undefined ? {} : { path: str('path') as string }),
      ...(str('runs') === undefined
        ? {}
        : { numRuns: parseIntegerOption('--runs', str('runs') as string, 1, 100_000) }),
      ...(str('timeout') === undefined
        ? {}
        : { timeoutMs: parseIntegerOption('--timeout', str('timeout') as string, 10, 60_000) }),
      ...(str('retries') === undefined
        ? {}
        : { retries: parseIntegerOption('--retries', str('retries') as string, 0, 10) }),
      ...(str('report-dir') === undefined ? {} : { reportDir: str('report-dir') as string }),
      ...(str('expectations') === undefined ? {} : { expectations: str('expectations') as string }),
      ...(str('update-expectations') === undefined
        ? {}
        : { updateExpectations: str('update-expectations') as string }),
      failOnUnexpectedPass: values['fail-on-unexpected-pass'] === true,
    },
    {
      onStart: (info, selected) => out(renderRunHeader(info, selected)),
      onCase: (result) => out(renderCaseLine(result, style)),
    },
  );
  out(renderSummary(run.summary, style));
  const rel = (p: string): string =>
    relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p);
  out(
    `reports: ${rel(run.files.mochawesomeHtml)}\n         ${rel(run.files.summaryJson)}\n         ${rel(run.files.junitXml)}\n`,
  );
  if (run.expectationsUpdate) out(renderExpectationsUpdate(run.expectationsUpdate));
  // Workflow commands are read from either stream; with --json they must not corrupt stdout.
  if (inGithubActions()) out(renderCheckAnnotations(run.summary));
  await appendStepSummary(renderCheckMarkdown(run.summary, rel(run.files.indexHtml)));
  out(`report: ${rel(run.files.indexHtml)}\n`);
  if (json) {
    process.stdout.write(await readFile(run.files.summaryJson, 'utf8'));
  }
  return run.summary.exitCode;
}
