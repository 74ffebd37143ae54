import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from 'ctrf';
import { runLoadSuite } from '../../harness/runner/load-suite-run.js';
import { runCli } from '../helpers/cli.js';
import { BREACHED_GATES } from '../fixtures/load-gate-breached.js';
import { loadSuiteReport } from '../../harness/report/load-suite.js';
import { writeReport } from '../../harness/report/write.js';

interface Ctrf {
  results: {
    summary: { tests: number; passed: number; failed: number; other: number };
    tests: {
      name: string;
      status: string;
      message: string;
      suite: string[];
      extra: { loadRunId?: string };
    }[];
  };
}

describe('echolot load --suite (load gates under mocha) [io]', function () {
  this.timeout(60_000);
  let reports: string;
  before(() => {
    reports = mkdtempSync(join(tmpdir(), 'echolot-load-suite-'));
  });
  after(() => rmSync(reports, { recursive: true, force: true }));

  it('runs suites/load against the embedded server and writes mochawesome, summary.json and junit.xml', async () => {
    const r = await runCli(['load', '--suite', '--report-dir', reports, '--json'], 60_000);
    const doc = JSON.parse(r.stdout) as Ctrf;
    expect(validate(doc).errors, 'summary.json is valid CTRF').to.deep.equal([]);
    const s = doc.results.summary;
    expect(s.tests).to.equal(4);
    expect(s.passed + s.failed + s.other).to.equal(4);
    expect(r.code, r.stderr).to.equal(s.other > 0 ? 70 : s.failed > 0 ? 1 : 0);
    for (const t of doc.results.tests) {
      expect(t.suite).to.have.length(1);
      expect(t.suite[0]).to.match(/^load\/\d-[a-z-]+\.ts$/);
      expect(t.extra.loadRunId).to.match(/^[0-9a-f]{16}$/);
    }
    expect(r.stderr).to.match(/^\s+\[(ok|FAIL)\]\s+holds 2000 datagrams\/s/m);
    const html = /^reports: (\S+mochawesome\.html)$/m.exec(r.stderr)?.[1] ?? '';
    expect(existsSync(html), html).to.equal(true);
    expect(readFileSync(html, 'utf8')).to.contain('echolot load gates');
    const junit = readFileSync(html.replace('mochawesome.html', 'junit.xml'), 'utf8');
    expect(junit).to.match(/<testsuite name="load" tests="4"/);
    // Like check and load, the last line names index.html, the report to open.
    const index = /^report: (\S+index\.html)$/m.exec(r.stderr.trimEnd().split('\n').at(-1) ?? '')?.[1] ?? '';
    expect(index).to.equal(html.replace('mochawesome.html', 'index.html'));
    expect((readFileSync(index, 'utf8').match(/<tr class="gate /g) ?? []).length).to.equal(4);
  });

  it('fails a breached gate: status failed, the threshold named, exit code 1', async () => {
    const run = await runLoadSuite({ groups: [BREACHED_GATES] });
    const written = await writeReport(reports, await loadSuiteReport(run));
    expect(run.exitCode).to.equal(1);
    expect(run.gates).to.have.length(1);
    expect(run.gates[0]?.passed).to.equal(false);
    const doc = JSON.parse(readFileSync(join(written.dir, 'summary.json'), 'utf8')) as Ctrf;
    expect(validate(doc).errors, 'summary.json is valid CTRF').to.deep.equal([]);
    expect(doc.results.summary).to.include({ tests: 1, failed: 1, passed: 0 });
    expect(doc.results.tests[0]?.message).to.match(/FAIL p50<1ns .*ok loss<5%/);
    expect(readFileSync(join(written.dir, 'junit.xml'), 'utf8')).to.contain(
      '<failure message="FAIL p50&lt;1ns',
    );
    const mocha = JSON.parse(readFileSync(join(written.dir, 'mochawesome.json'), 'utf8')) as {
      stats: { failures: number };
    };
    expect(mocha.stats.failures).to.equal(1);
    const index = readFileSync(join(written.dir, 'index.html'), 'utf8');
    expect(index).to.include('data-outcome="FAILED"');
    expect(index).to.match(/<tr class="gate v-fail" data-verdict="FAIL">/);
    expect(index).to.match(/<code>p50&#60;1ns<\/code><\/td><td class="num">[\d.]+ (us|ms|s)<\/td>/);
  });

  it('refuses other load options with --suite (exit 64, one line)', async () => {
    const r = await runCli(['load', '--suite', '--rate', '5k']);
    expect(r.code).to.equal(64);
    expect(r.stderr.trim()).to.match(
      /^echolot: --suite and --rate: the gates of suites\/load set their own options/,
    );
  });
});
