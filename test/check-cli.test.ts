import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOGUE } from '../harness/results/catalogue.js';
import { startSilentServer, type RunningFixture } from './fixtures/faulty-servers.js';
import { CLI, runCli, verdictsOf } from './helpers/cli.js';

/** A UDP port on 127.0.0.1 that nothing listens on (bound, read, released). */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const oneLine = (text: string): void => {
  expect(text.trim().split('\n'), `expected one line, got:\n${text}`).to.have.length(1);
  expect(text).to.not.match(/\n\s+at /);
};

describe('echolot check (CLI)', function () {
  let reports: string;
  before(() => {
    reports = mkdtempSync(join(tmpdir(), 'echolot-cli-'));
  });
  after(() => rmSync(reports, { recursive: true, force: true }));

  it('passes the embedded reference server on every case and writes the reports it names', async () => {
    const r = await runCli(['check', '--report-dir', reports]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(new RegExp(`${CATALOGUE.length} cases: ${CATALOGUE.length} PASS`));
    const html = /reports: (\S+mochawesome\.html)/.exec(r.stdout)?.[1];
    const json = /^\s+(\S+summary\.json)$/m.exec(r.stdout)?.[1];
    expect(html, 'printed mochawesome path').to.be.a('string');
    expect(existsSync(html ?? ''), `${html} exists`).to.equal(true);
    const verdicts = verdictsOf(readFileSync(json ?? '', 'utf8'));
    expect([...verdicts.keys()]).to.deep.equal(CATALOGUE.map((c) => c.id));
    expect([...new Set(verdicts.values())]).to.deep.equal(['PASS']);
    expect(existsSync(join(html ?? '', '..', 'mochawesome.json'))).to.equal(true);
  });

  it('prints summary.json on stdout with --json, CTRF-shaped, with evidence and the seed', async () => {
    const r = await runCli(['check', '--only', '2.5,3.2', '--seed', '42', '--json', '--report-dir', reports]);
    expect(r.code).to.equal(0);
    const doc = JSON.parse(r.stdout) as {
      reportFormat: string;
      results: {
        summary: { tests: number; passed: number };
        tests: { extra: { id: string; evidence: Record<string, unknown> } }[];
      };
    };
    expect(doc.reportFormat).to.equal('CTRF');
    expect(doc.results.summary).to.include({ tests: 2, passed: 2 });
    const property = doc.results.tests.find((t) => t.extra.id === '2.5');
    expect(property?.extra.evidence['seed']).to.equal(42);
    const max = doc.results.tests.find((t) => t.extra.id === '3.2')?.extra.evidence['exchange'] as {
      sentLength: number;
      comparison: { receivedSha256: string; sentSha256: string };
    };
    expect(max.sentLength).to.equal(65507);
    expect(max.comparison.receivedSha256).to.equal(max.comparison.sentSha256);
  });

  it('passes every case against `echolot serve` bound to 127.0.0.1 and 127.0.0.2, 4.3 included', async () => {
    let server: ChildProcess | undefined;
    try {
      server = spawn(
        process.execPath,
        [CLI, 'serve', '--port', '0', '--bind', '127.0.0.1', '--bind', '127.0.0.2'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 10_000);
        server?.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /port (\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
      });
      const r = await runCli(['check', `127.0.0.1:${port}`, '--json', '--report-dir', reports]);
      const verdicts = verdictsOf(r.stdout);
      expect(
        [...verdicts].filter(([, v]) => v !== 'PASS'),
        r.stderr,
      ).to.deep.equal([]);
      expect(r.stderr).to.match(
        /PASS\s+4\.3\s+answered from 127\.0\.0\.2; not served, nothing misaddressed: 127\.1\.2\.3/,
      );
      expect(r.code).to.equal(0);
    } finally {
      server?.kill('SIGTERM');
    }
  });

  it('exits 69 within 5 s with one line when nothing listens on the port', async () => {
    const r = await runCli(['check', `127.0.0.1:${await freePort()}`, '--report-dir', reports]);
    expect(r.code).to.equal(69);
    expect(r.ms).to.be.below(5000);
    oneLine(r.stderr);
    expect(r.stderr).to.match(
      /^echolot: nothing listens on udp\/\d+ at 127\.0\.0\.1 \(ICMP port unreachable\)/,
    );
  });

  describe('against a server that never answers', () => {
    let silent: RunningFixture;
    before(async () => {
      silent = await startSilentServer();
    });
    after(() => silent.close());
    it('exits 69 within 5 s with one line naming the likely cause', async () => {
      const r = await runCli(['check', `127.0.0.1:${silent.port}`, '--report-dir', reports]);
      expect(r.code).to.equal(69);
      expect(r.ms).to.be.below(5000);
      oneLine(r.stderr);
      expect(r.stderr).to.match(/no reply from udp\/\d+ at 127\.0\.0\.1 after 3 attempts .*127\/8 sources/);
    });
  });

  const usage: [string, string[], number, RegExp][] = [
    [
      'a port out of range',
      ['check', '127.0.0.1:70000'],
      64,
      /target 127\.0\.0\.1:70000: port must be an integer in 1\.\.65535, got '70000'/,
    ],
    ['an unresolvable name', ['check', 'nosuch.invalid:7'], 69, /cannot resolve host 'nosuch\.invalid'/],
    ['an IPv6 address without brackets', ['check', '::1:7'], 64, /write an IPv6 address in brackets/],
    ['a selection that selects nothing', ['check', '--only', '9.9'], 64, /--only 9\.9: selects no case/],
    ['a malformed selection', ['check', '--only', 'abc'], 64, /--only abc: must be case IDs or globs/],
    ['an unknown option', ['check', '--frobnicate'], 64, /echolot check: Unknown option '--frobnicate'/],
    ['a bad timeout', ['check', '--timeout', '5'], 64, /--timeout 5: must be an integer in 10\.\.60000/],
    ['--path without --seed', ['check', '--path', '1:2'], 64, /--path: needs --seed/],
    ['an unknown command', ['frobnicate'], 64, /unknown command 'frobnicate'/],
  ];
  for (const [what, args, code, message] of usage) {
    it(`exits ${code} with one clear line for ${what}`, async () => {
      const r = await runCli([...args, '--report-dir', reports], 15_000);
      expect(r.code, r.stderr).to.equal(code);
      oneLine(r.stderr);
      expect(r.stderr).to.match(message);
    });
  }

  it('lists the selected cases as JSON with --list', async () => {
    const r = await runCli(['check', '--list', '--only', '3.*,1']);
    expect(r.code).to.equal(0);
    const ids = (JSON.parse(r.stdout) as { id: string }[]).map((c) => c.id);
    expect(ids).to.deep.equal(['1.1', '1.2', '1.3', '1.4', '3.1', '3.2']);
  });

  it('describes every option in --help', async () => {
    const r = await runCli(['check', '--help']);
    expect(r.code).to.equal(0);
    for (const option of [
      '--only',
      '--exclude',
      '--list',
      '--strict',
      '--seed',
      '--path',
      '--runs',
      '--timeout',
      '--retries',
      '--report-dir',
      '--json',
      '--no-preflight',
      '--target-addrs',
      '--help',
    ]) {
      expect(r.stdout).to.include(option);
    }
    expect(r.stdout).to.match(/Exit codes: 0/);
    const top = await runCli(['--help']);
    expect(top.code).to.equal(0);
    expect(top.stdout).to.include('echolot check').and.include('echolot serve');
  });

  it('prints its version', async () => {
    const r = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(r.stdout.trim()).to.equal(`echolot ${pkg.version}`);
  });
});
