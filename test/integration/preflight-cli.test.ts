import { expect } from 'chai';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import { runCli } from '../helpers/cli.js';

/** A UDP port on 127.0.0.1 that nothing listens on (bound, read, released). */
async function unusedPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The diagnosis the preflight gives for `port`, as `check` prints it. */
const diagnosisOf = (port: number): string =>
  `nothing listens on udp/${port} at 127.0.0.1 (ICMP port unreachable)`;

/** The one run directory a command wrote under `base`. */
function runDir(base: string): string {
  const dirs = readdirSync(base);
  expect(dirs, `run directories under ${base}`).to.have.length(1);
  return join(base, dirs[0] ?? '');
}

/** Each <testcase> of a JUnit file: its name and its <failure>/<error>/<skipped> element, if any. */
function testcases(xml: string): { name: string; outcome?: string; message?: string }[] {
  return [...xml.matchAll(/<testcase\b[^>]*\bname="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)].map(
    (m) => {
      const inner = /<(failure|error|skipped)\b[^>]*\bmessage="([^"]*)"/.exec(m[2] ?? '');
      return {
        name: m[1] ?? '',
        ...(inner ? { outcome: inner[1] ?? '', message: (inner[2] ?? '').replace(/&apos;/g, "'") } : {}),
      };
    },
  );
}

describe('the preflight ends load and check with exit 69, and check still writes its reports', function () {
  this.timeout(20_000);
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'echolot-preflight-'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('echolot load exits 69 with the diagnosis of check, before any load, and writes no load report', async () => {
    const port = await unusedPort();
    const reports = join(base, 'reports');
    const r = await runCli(
      ['load', `127.0.0.1:${port}`, '--duration', '5s', '--report-dir', reports],
      10_000,
    );
    expect(r.code, r.stdout + r.stderr).to.equal(69);
    expect(r.stderr).to.equal(`echolot: ${diagnosisOf(port)}\n`);
    // Well within the 5 s the load would have lasted: the preflight decided, not 100% loss.
    expect(r.ms).to.be.below(4000);
    expect(existsSync(reports) ? readdirSync(reports) : []).to.deep.equal([]);
  });

  it('echolot load --mode search exits 69 the same way, before the first trial', async () => {
    const port = await unusedPort();
    const r = await runCli(['load', `127.0.0.1:${port}`, '--mode', 'search', '--report-dir', base], 10_000);
    expect(r.code, r.stdout + r.stderr).to.equal(69);
    expect(r.stderr).to.equal(`echolot: ${diagnosisOf(port)}\n`);
    expect(r.stdout).to.not.match(/trial/);
  });

  it('echolot load --help and check --help describe the preflight and --no-preflight', async () => {
    const load = await runCli(['load', '--help']);
    expect(load.stdout).to.match(
      /--no-preflight\s+load the target even when it does not answer the preflight/,
    );
    expect(load.stdout).to.match(/69 target unreachable at preflight/);
    const check = await runCli(['check', '--help']);
    expect(check.stdout).to.match(
      /preflight stopped \(exit 69\) still writes index\.html, summary\.json and junit\.xml/,
    );
  });

  it('echolot load --no-preflight loads the port anyway (exit 0, all lost)', async () => {
    const port = await unusedPort();
    const r = await runCli(
      [
        'load',
        `127.0.0.1:${port}`,
        '--no-preflight',
        '--duration',
        '200ms',
        '--rate',
        '500',
        '--drain',
        '100ms',
        '--report-dir',
        base,
      ],
      10_000,
    );
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/lost [\d,]+, 100\.00% of sent/);
  });

  it('echolot check writes junit.xml (one failing preflight test naming the diagnosis, the cases skipped) and summary.json', async () => {
    const port = await unusedPort();
    const r = await runCli(['check', `127.0.0.1:${port}`, '--report-dir', base], 10_000);
    expect(r.code, r.stdout + r.stderr).to.equal(69);
    expect(r.stderr).to.equal(`echolot: ${diagnosisOf(port)}\n`);
    const dir = runDir(base);
    expect(r.stdout).to.contain(join(dir, 'junit.xml'));
    expect(r.stdout).to.contain(join(dir, 'summary.json'));

    const cases = testcases(readFileSync(join(dir, 'junit.xml'), 'utf8'));
    const failing = cases.filter((c) => c.outcome === 'failure' || c.outcome === 'error');
    expect(failing).to.deep.equal([
      {
        name: 'preflight the target answers before any case runs',
        outcome: 'failure',
        message: diagnosisOf(port),
      },
    ]);
    const skipped = cases.filter((c) => c.outcome === 'skipped');
    expect(skipped.map((c) => c.name.split(' ')[0])).to.deep.equal(CATALOGUE.map((c) => c.id));

    const doc = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
      results: {
        summary: { tests: number; failed: number; skipped: number };
        tests: { name: string; status: string; message: string }[];
        extra: { exitCode: number; run: { notStarted?: { stage: string; diagnosis: string } } };
      };
    };
    expect(doc.results.extra.exitCode).to.equal(69);
    expect(doc.results.extra.run.notStarted).to.deep.equal({
      stage: 'preflight',
      diagnosis: diagnosisOf(port),
    });
    expect(doc.results.summary).to.include({
      tests: CATALOGUE.length + 1,
      failed: 1,
      skipped: CATALOGUE.length,
    });
    expect(doc.results.tests[0]).to.include({ status: 'failed', message: diagnosisOf(port) });
  });

  it('echolot check on GitHub Actions prints an ::error annotation and a step summary naming the diagnosis', async () => {
    const port = await unusedPort();
    const stepSummary = join(base, 'step-summary.md');
    writeFileSync(stepSummary, '');
    const r = await runCli(['check', `127.0.0.1:${port}`, '--report-dir', join(base, 'reports')], 10_000, {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: stepSummary,
    });
    expect(r.code, r.stdout + r.stderr).to.equal(69);
    const annotations = r.stdout.split('\n').filter((l) => l.startsWith('::error '));
    expect(annotations).to.have.length(1);
    expect(annotations[0]).to.contain(`::${diagnosisOf(port)}`);
    expect(annotations[0]).to.match(/title=echolot preflight FAIL/);
    const markdown = readFileSync(stepSummary, 'utf8');
    expect(markdown).to.contain('**exit code 69**');
    expect(markdown).to.contain(diagnosisOf(port));
  });

  it('echolot load --suite writes junit.xml and summary.json with the failing preflight, exit 69', async () => {
    const port = await unusedPort();
    const r = await runCli(['load', `127.0.0.1:${port}`, '--suite', '--report-dir', base], 10_000, {
      GITHUB_ACTIONS: 'true',
    });
    expect(r.code, r.stdout + r.stderr).to.equal(69);
    expect(r.stderr).to.equal(`echolot: ${diagnosisOf(port)}\n`);
    expect(r.stdout).to.match(
      /^::error title=echolot load --suite.*::nothing listens on udp\/\d+ at 127\.0\.0\.1/m,
    );
    const dir = runDir(base);
    expect(testcases(readFileSync(join(dir, 'junit.xml'), 'utf8'))).to.deep.equal([
      { name: 'preflight', outcome: 'error', message: diagnosisOf(port) },
    ]);
    const doc = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
      results: { environment: { extra: { exitCode: number; notStarted?: unknown } } };
    };
    expect(doc.results.environment.extra.exitCode).to.equal(69);
    expect(doc.results.environment.extra.notStarted).to.deep.equal({
      stage: 'preflight',
      diagnosis: diagnosisOf(port),
    });
  });
});
