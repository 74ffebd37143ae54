/**
 * Ctrl-C keeps results: a signal to `echolot check` or `echolot load` (a search and the suite too)
 * stops the run cleanly, writes every report marked interrupted and exits 130 (SIGINT) or 143
 * (SIGTERM); a second signal quits at once; and the reference server a load starts in a child
 * process never outlives the harness, not even a harness killed with SIGKILL.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';
import { skipBecause } from '../helpers/skip.js';

/** Bound on every wait, so a regression fails instead of hanging. */
const WAIT_MS = 8000;

interface Running {
  readonly child: ChildProcess;
  readonly out: () => string;
  readonly err: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

function cli(args: readonly string[]): Running {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, GITHUB_ACTIONS: undefined, GITHUB_STEP_SUMMARY: undefined, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, out: () => out, err: () => err, exited };
}

async function until<T>(what: string, probe: () => T | undefined, ms = WAIT_MS): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The case lines a check printed so far (a verdict, then a case ID). */
const caseLines = (out: string): string[] =>
  out
    .split('\n')
    .filter((l) => /^\s+(PASS|FLAKY|INFO|NON-STRICT|UNSUPPORTED|FAIL|ERROR)\s+\d+\.\d+\s/.test(l));

/** The one run directory under `dir`. */
function runDir(dir: string): string {
  const runs = readdirSync(dir);
  expect(runs, `run directories in ${dir}`).to.have.length(1);
  return join(dir, runs[0] as string);
}

/** Whether `pid` is a live process (a zombie nobody reaps has ended). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The child processes of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

interface SummaryTest {
  readonly message: string;
  readonly extra: { readonly id: string; readonly verdict: string };
}

describe('interrupting check and load (CLI) [io]', function () {
  this.timeout(30_000);
  let dir: string;
  const leftover: number[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'echolot-interrupt-'));
  });

  afterEach(() => {
    for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const pid of leftover.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('check: SIGINT keeps the finished verdicts, marks the rest NOT-RUN, writes every report and exits 130', async () => {
    const run = cli(['check', '--report-dir', dir]);
    const before = await until('three case lines', () =>
      caseLines(run.out()).length >= 3 ? caseLines(run.out()).length : undefined,
    );
    run.child.kill('SIGINT');
    const { code } = await within(run.exited, WAIT_MS, 'the interrupted check to exit');
    expect(code, run.err()).to.equal(130);
    expect(run.err()).to.include('interrupted by SIGINT');
    expect(run.out()).to.match(/exit code 130: interrupted by SIGINT: \d+ of \d+ cases not run/);

    const d = runDir(dir);
    for (const f of ['summary.json', 'junit.xml', 'index.html', 'mochawesome.html'])
      expect(existsSync(join(d, f)), f).to.equal(true);
    const summary = JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8')) as {
      results: { tests: SummaryTest[]; extra: { exitCode: number; run: { interrupted?: string } } };
    };
    expect(summary.results.extra.run.interrupted).to.equal('SIGINT');
    expect(summary.results.extra.exitCode).to.equal(130);
    const tests = summary.results.tests;
    const verdicts = tests.map((t) => t.extra.verdict);
    expect(verdicts.filter((v) => v === 'PASS').length).to.be.at.least(before - 1);
    // The cases that finished come first and keep their verdicts; every later one is NOT-RUN, saying why.
    const firstLeft = tests.findIndex((t) => t.message.includes('interrupted by SIGINT'));
    expect(firstLeft).to.be.greaterThan(0);
    for (const t of tests.slice(firstLeft)) {
      expect(t.extra.verdict, t.extra.id).to.equal('NOT-RUN');
      expect(t.message, t.extra.id).to.include('interrupted by SIGINT');
    }
    expect(tests.slice(0, firstLeft).every((t) => t.extra.verdict !== 'NOT-RUN')).to.equal(true);
    expect(readFileSync(join(d, 'junit.xml'), 'utf8')).to.include('name="interrupted" value="SIGINT"');
    expect(readFileSync(join(d, 'index.html'), 'utf8')).to.include('INTERRUPTED');
  });

  it('check: SIGTERM stops the same way and exits 143', async () => {
    const run = cli(['check', '--report-dir', dir]);
    await until('a case line', () => (caseLines(run.out()).length >= 1 ? true : undefined));
    run.child.kill('SIGTERM');
    const { code } = await within(run.exited, WAIT_MS, 'the terminated check to exit');
    expect(code, run.err()).to.equal(143);
    const summary = JSON.parse(readFileSync(join(runDir(dir), 'summary.json'), 'utf8')) as {
      results: { extra: { exitCode: number; run: { interrupted?: string } } };
    };
    expect(summary.results.extra.run.interrupted).to.equal('SIGTERM');
    expect(summary.results.extra.exitCode).to.equal(143);
  });

  it('check: a second SIGINT quits at once with 130', async () => {
    const run = cli(['check', '--report-dir', dir]);
    await until('a case line', () => (caseLines(run.out()).length >= 1 ? true : undefined));
    // The second one as soon as the first is taken, while the clean stop writes the reports.
    let second = 0;
    run.child.stderr?.on('data', () => {
      if (second === 0 && run.err().includes('stopping')) {
        second = Date.now();
        run.child.kill('SIGINT');
      }
    });
    run.child.kill('SIGINT');
    const { code } = await within(run.exited, WAIT_MS, 'the check to quit');
    expect(second, 'the first signal was taken').to.be.above(0);
    expect(code).to.equal(130);
    expect(Date.now() - second).to.be.below(1000);
    // It quit before the clean stop got to the end: the path of the report is never printed.
    expect(run.out()).not.to.include('index.html');
  });

  it('load: SIGINT ends the measurement, writes what was measured, exits 130 and leaves no server behind', async function () {
    if (!existsSync('/proc/self/task')) skipBecause(this, 'needs /proc to find the server child');
    const run = cli(['load', '--duration', '10s', '--interval', '200ms', '--ndjson', '--report-dir', dir]);
    // The first interval line: the measurement is under way.
    await until('an interval line', () => (run.out().includes('"atMs"') ? true : undefined));
    const [server] = childrenOf(run.child.pid as number);
    expect(server, 'the reference server child').to.be.a('number');
    leftover.push(server as number);
    await new Promise((r) => setTimeout(r, 300));
    const sentAt = Date.now();
    run.child.kill('SIGINT');
    const { code } = await within(run.exited, WAIT_MS, 'the interrupted load to exit');
    expect(code, run.err()).to.equal(130);
    expect(Date.now() - sentAt).to.be.below(5000);
    expect(alive(server as number), 'the server child after the load').to.equal(false);

    const d = runDir(dir);
    expect(existsSync(join(d, 'index.html'))).to.equal(true);
    const load = JSON.parse(readFileSync(join(d, 'load.json'), 'utf8')) as {
      interrupted?: string;
      durationMs: number;
      options: { durationMs: number };
      counters: { sent: number };
    };
    expect(load.interrupted).to.equal('SIGINT');
    expect(load.options.durationMs).to.equal(10_000);
    expect(load.durationMs).to.be.above(0).and.below(10_000);
    expect(load.counters.sent).to.be.above(0);
    expect(run.err()).to.include('interrupted by SIGINT');
  });

  it('load --mode search: SIGINT keeps the finished trials, writes the report marked interrupted and exits 130', async () => {
    const run = cli(['load', '--mode', 'search', '--trial', '300ms', '--ndjson', '--report-dir', dir]);
    const trialLines = (): number =>
      run
        .out()
        .split('\n')
        .filter((l) => l.includes('"type":"trial"')).length;
    await until('a trial line', () => (trialLines() >= 1 ? true : undefined), 20_000);
    const sentAt = Date.now();
    run.child.kill('SIGINT');
    const { code } = await within(run.exited, WAIT_MS, 'the interrupted search to exit');
    expect(code, run.err()).to.equal(130);
    expect(Date.now() - sentAt).to.be.below(5000);
    const load = JSON.parse(readFileSync(join(runDir(dir), 'load.json'), 'utf8')) as {
      interrupted?: string;
      limitedBy: string;
      statement: string;
      trials: unknown[];
    };
    expect(load.interrupted).to.equal('SIGINT');
    expect(load.limitedBy).to.equal('interrupted');
    // Every trial printed before the signal is kept; the one under way is not judged.
    expect(load.trials.length).to.be.at.least(1).and.equal(trialLines());
    expect(load.statement).to.match(/^interrupted by SIGINT after \d+ trials?: /);
    expect(run.out()).to.include('"type":"result"');
    expect(run.err()).to.include('INTERRUPTED: interrupted by SIGINT');
  });

  it('load --suite: SIGINT keeps the gates that ended, records the rest as not run, writes every report and exits 130', async () => {
    const run = cli(['load', '--suite', '--report-dir', dir]);
    const gateLines = (): number =>
      run
        .out()
        .split('\n')
        .filter((l) => /^\s+\[(ok|FAIL|ERROR)\]/.test(l)).length;
    await until('a gate line', () => (gateLines() >= 1 ? true : undefined), 30_000);
    const ended = gateLines();
    run.child.kill('SIGINT');
    const { code } = await within(run.exited, WAIT_MS, 'the interrupted suite to exit');
    expect(code, run.err()).to.equal(130);
    expect(run.out()).to.match(/interrupted by SIGINT: \d+ not run/);

    const d = runDir(dir);
    for (const f of ['summary.json', 'junit.xml', 'index.html', 'mochawesome.html'])
      expect(existsSync(join(d, f)), f).to.equal(true);
    const summary = JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8')) as {
      results: {
        tests: { status: string; message: string }[];
        environment: { extra: { interrupted?: string; exitCode: number } };
      };
    };
    expect(summary.results.environment.extra).to.include({ interrupted: 'SIGINT', exitCode: 130 });
    const tests = summary.results.tests;
    const skipped = tests.filter((t) => t.status === 'skipped');
    // The gates that ended before the signal keep their verdicts; the one under way and the later ones are not run.
    expect(tests.length - skipped.length).to.be.at.least(ended);
    expect(skipped.length).to.be.at.least(1);
    for (const t of skipped) expect(t.message).to.equal('not run: interrupted by SIGINT');
    expect(readFileSync(join(d, 'junit.xml'), 'utf8')).to.include('name="interrupted" value="SIGINT"');
    expect(readFileSync(join(d, 'index.html'), 'utf8')).to.include('INTERRUPTED');
  });

  it('load: a harness killed with SIGKILL takes its server child with it within 2 s', async function () {
    if (!existsSync('/proc/self/task')) skipBecause(this, 'needs /proc to find the server child');
    const run = cli(['load', '--duration', '10s', '--interval', '200ms', '--ndjson', '--report-dir', dir]);
    await until('an interval line', () => (run.out().includes('"atMs"') ? true : undefined));
    const [server] = childrenOf(run.child.pid as number);
    expect(server, 'the reference server child').to.be.a('number');
    leftover.push(server as number);
    expect(alive(server as number)).to.equal(true);
    run.child.kill('SIGKILL');
    await run.exited;
    await until('the server child to exit', () => (alive(server as number) ? undefined : true), 2000);
  });
});
