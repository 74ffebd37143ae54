import { runCheck, type CheckRun } from '../check/run-check.js';
import { reportNotStarted } from './check-not-started.js';
import { resolveCheckOptions, type CheckOptions } from '../conformance/options.js';
import {
  renderAmendLine,
  renderCaseLine,
  renderExpectationsUpdate,
  renderRunHeader,
  renderSummary,
  renderCheckProgress,
  type CheckProgress,
  type ConsoleStyle,
} from '../reporters/console.js';
import { CASES, CATALOGUE } from '../../suites/conformance/catalogue.js';
import { selectCases } from '../check/selection.js';
import {
  commaList,
  integerValue,
  parseCommandArgs,
  stringList,
  type OptionTable,
  type CommandSpec,
} from './args.js';
import { flagText, inCommandTerms, type FieldFlags } from './field-flags.js';
import { join } from 'node:path';
import { HarnessError } from '../errors.js';
import { MAX_ANNOTATIONS, renderCheckAnnotations } from '../reporters/github.js';
import { renderCheckMarkdown } from '../reporters/markdown.js';
import { appendStepSummary, colorEnabled, displayPath, inGithubActions, statusLine } from './terminal.js';
import { checkReport } from '../report/check.js';
import { prepareReportDir, writeReport } from '../report/write.js';
import { renderSummaryJson } from '../reporters/summary-json.js';
import { interruptReason } from '../core/exit-signal.js';

/** The cases that flood the target (`disturbs: 'flood'`): only against a target the run owns. */
const FLOOD_CASES = CASES.filter((c) => c.disturbs === 'flood')
  .map((c) => c.id)
  .join(', ');

export const HELP = `Usage: echolot check [HOST:PORT] [options]

Runs the RFC 862 conformance catalogue against a UDP echo server and writes reports/<run-id>/.
Without HOST:PORT the reference server is started in-process on an ephemeral port and checked.
HOST:PORT may be 192.0.2.1:7, [2001:db8::1]:7 or echo.example:7.

Options:
  --only IDS           run only these cases: IDs or globs, comma-separated or repeated (1.1, 3, '3.*')
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
  --target-addrs ADDRS further addresses of the same server (secondary IPs, other interfaces, its IPv6
                       and link-local fe80::1%IFACE addresses) for cases 4.4, 4.3, 3.3 and 8.x
  --target-pid PID     the process that serves the target (e.g. in another network namespace) for case 10.4
  --expectations FILE  judge the run against an expectations file (docs/ci.md): an expected FAIL exits 0,
                       an unexpected FAIL exits 1; cases the file does not list may be anything but FAIL/ERROR
  --update-expectations FILE
                       write (merge) FILE from this run: FAIL and NON-STRICT verdicts are recorded under
                       this target, bug links and conditions of entries that still apply are kept
  --fail-on-unexpected-pass
                       exit 2 when a case passes that the expectations say fails (stale expectations)
  --i-own-the-target   you own the target and the path to it: run the cases that flood it
                       (${FLOOD_CASES}) also against a target that is not
                       loopback (127/8, ::1); without it they are UNSUPPORTED there. They send
                       up to ~10,000 datagrams/s for seconds, and 65507-byte datagrams (45 IP
                       fragments each)
  -h, --help           this help

Verdicts: PASS, FLAKY (passed after a timeout retry, or the path lost or duplicated datagrams),
INFO (a finding), NON-STRICT (a SHOULD is not met), UNSUPPORTED (cannot run here; says why),
NOT-RUN (the target was down: the case that killed it FAILs), FAIL (a MUST is violated),
ERROR (the harness failed).

Examples:
  echolot check                                  the embedded reference server
  echolot check 192.0.2.10:7                     an IPv4 server
  echolot check '[2001:db8::10]:7'               an IPv6 server (quoted: zsh reads [...] as a glob)
  echolot check 127.0.0.1:9007 --only '3.*' --exclude 3.2 --strict
  echolot check 127.0.0.1:9007 --only 2.5 --seed 42 --runs 1000
  echolot check 127.0.0.1:9007 --expectations expectations.json --json > summary.json
  echolot check --list --only '1.*'              the selected cases as JSON, nothing sent

Exit codes: 0 all results as expected (no FAIL or ERROR, or only the ones the expectations file
expects), 1 an unexpected FAIL, 2 an unexpected pass with --fail-on-unexpected-pass,
64 usage error, empty selection, or a missing or malformed expectations file,
69 target unreachable at preflight (nothing bound on this host, nothing on the wire) or name does
not resolve, 70 harness error (an unexpected ERROR), 74 a report or --update-expectations cannot be
written, 130 (SIGINT, Ctrl-C) or 143 (SIGTERM) interrupted: the cases that finished keep their
verdicts, the rest are NOT-RUN, and every report is written and marked interrupted; a second signal
quits at once.

Every run writes reports/<run-id>/index.html (the report to open: one file, no network needed),
summary.json (CTRF), junit.xml and mochawesome.html; the path of index.html is printed last.
A run the preflight stopped (exit 69) still writes index.html, summary.json and junit.xml: one
failing test "preflight" whose message is the diagnosis, every selected case NOT-RUN.
On GitHub Actions (GITHUB_ACTIONS=true) the first ${MAX_ANNOTATIONS} FAIL/ERROR cases become annotations, and a
Markdown summary is appended to $GITHUB_STEP_SUMMARY when it is set. Colour only on a terminal;
NO_COLOR turns it off, FORCE_COLOR on.
`;

/** The command line of `echolot check`. */
export const OPTIONS: OptionTable = {
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
  'target-pid': { type: 'string' },
  expectations: { type: 'string' },
  'update-expectations': { type: 'string' },
  'fail-on-unexpected-pass': { type: 'boolean' },
  'i-own-the-target': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** check's options and help, for `echolot help` and `echolot completion`. */
export const CHECK_COMMAND: CommandSpec = { options: OPTIONS, help: HELP };

/** What --only and --exclude name, as their usage error says it. */
const CASE_EXAMPLE = "case ID or glob, e.g. 1.1 or '3.*'";

/** The flag of each check option the library judges (harness/conformance/options.ts). */
const FIELD_FLAGS: FieldFlags = {
  target: { flag: 'target' },
  seed: { flag: '--seed' },
  path: { flag: '--path' },
  numRuns: { flag: '--runs' },
  timeoutMs: { flag: '--timeout' },
  retries: { flag: '--retries' },
  targetAddrs: { flag: '--target-addrs' },
  targetPid: { flag: '--target-pid' },
  expectations: { flag: '--expectations' },
  updateExpectations: { flag: '--update-expectations' },
  failOnUnexpectedPass: { flag: '--fail-on-unexpected-pass' },
  ownTarget: { flag: '--i-own-the-target' },
};

/** `echolot check`: parses options, runs the catalogue, prints progress and the summary, returns the exit code. */
export async function checkCommand(argv: readonly string[], interrupt?: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs('check', argv, OPTIONS);
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
  const only = commaList('--only', values['only'], CASE_EXAMPLE);
  const exclude = commaList('--exclude', values['exclude'], CASE_EXAMPLE);
  if (values['list']) {
    process.stdout.write(`${JSON.stringify(selectCases(CATALOGUE, only, exclude), null, 2)}\n`);
    return 0;
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? values[k] : undefined);
  const json = values['json'] === true;
  const style: ConsoleStyle = { color: colorEnabled(json ? process.stderr : process.stdout) };
  const out = (s: string): void => {
    (json ? process.stderr : process.stdout).write(s);
  };
  const reportDir = str('report-dir') ?? 'reports';
  const input: CheckOptions = {
    ...(positionals[0] === undefined ? {} : { target: positionals[0] }),
    only,
    exclude,
    strict: values['strict'] === true,
    preflight: values['no-preflight'] !== true,
    targetAddrs: split(values['target-addrs']),
    ...(str('seed') === undefined ? {} : { seed: integerValue(str('seed') as string) }),
    ...(str('path') === undefined ? {} : { path: str('path') as string }),
    ...(str('runs') === undefined ? {} : { numRuns: integerValue(str('runs') as string) }),
    ...(str('timeout') === undefined ? {} : { timeoutMs: integerValue(str('timeout') as string) }),
    ...(str('retries') === undefined ? {} : { retries: integerValue(str('retries') as string) }),
    ...(str('target-pid') === undefined ? {} : { targetPid: integerValue(str('target-pid') as string) }),
    ...(str('expectations') === undefined ? {} : { expectations: str('expectations') as string }),
    ...(str('update-expectations') === undefined
      ? {}
      : { updateExpectations: str('update-expectations') as string }),
    failOnUnexpectedPass: values['fail-on-unexpected-pass'] === true,
    ownTarget: values['i-own-the-target'] === true,
  };
  // Usage errors first, then the report directory, then the run: nothing is lost at the end.
  inCommandTerms(FIELD_FLAGS, flagText(values, OPTIONS), () => resolveCheckOptions(input));
  await prepareReportDir(reportDir);
  const startedAt = new Date();
  // On a terminal, the running case, a counter and the elapsed time on one line that each result
  // line replaces; with --json or without a terminal, nothing (statusLine draws only on a TTY).
  const status = json ? undefined : statusLine(process.stdout);
  let progress: CheckProgress | undefined;
  let firstStart = 0;
  const draw = (): void => {
    if (status && progress)
      status.show(renderCheckProgress({ ...progress, elapsedMs: Date.now() - firstStart }, status.columns));
  };
  const line = (s: string): void => {
    status?.clear();
    out(s);
    draw();
  };
  const ticker = status ? setInterval(draw, 1000) : undefined;
  ticker?.unref();
  // The first signal stops the run and says so; the cases it leaves are counted once, not listed.
  const onInterrupt = (): void => {
    status?.clear();
    process.stderr.write(
      `\necholot: interrupted by ${interruptReason(interrupt as AbortSignal)}: stopping, writing the reports (again to quit at once)\n`,
    );
  };
  interrupt?.addEventListener('abort', onInterrupt, { once: true });
  let run: CheckRun;
  try {
    run = await runCheck(input, {
      onStart: (info, selected) => {
        out(renderRunHeader(info, selected));
        progress = { started: 0, total: selected.length, elapsedMs: 0 };
      },
      onCaseStart: (c) => {
        if (progress === undefined || interrupt?.aborted === true) return;
        if (progress.started === 0) firstStart = Date.now();
        progress = { ...progress, started: progress.started + 1, current: c };
        draw();
      },
      onCase: (result) => {
        if (progress?.current) {
          const { current: _done, ...rest } = progress;
          progress = rest;
        }
        if (!(interrupt?.aborted === true && result.verdict === 'NOT-RUN'))
          line(renderCaseLine(result, style));
      },
      onAmend: (result, before) => line(renderAmendLine(result, before, style)),
      ...(interrupt ? { signal: interrupt } : {}),
    });
  } catch (err) {
    // A target that does not answer the preflight: still exit 69, with reports for CI to show.
    return await reportNotStarted(err, { input, reportDir, startedAt, json, out });
  } finally {
    interrupt?.removeEventListener('abort', onInterrupt);
    if (ticker) clearInterval(ticker);
    progress = undefined;
    status?.clear();
  }
  out(renderSummary(run.summary, style));
  const written = await writeReport(reportDir, await checkReport(run));
  const path = (name: string): string => displayPath(written.paths[name] ?? join(written.dir, name));
  out(
    `reports: ${path('mochawesome.html')}\n         ${path('summary.json')}\n         ${path('junit.xml')}\n`,
  );
  if (run.expectationsUpdate) out(renderExpectationsUpdate(run.expectationsUpdate));
  // Workflow commands are read from either stream; with --json they must not corrupt stdout.
  if (inGithubActions()) out(renderCheckAnnotations(run.summary));
  await appendStepSummary(renderCheckMarkdown(run.summary, path('index.html')));
  out(`report: ${path('index.html')}\n`);
  if (json) process.stdout.write(renderSummaryJson(run.summary));
  return run.summary.exitCode;
}
