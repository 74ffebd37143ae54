import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOGUE } from '../harness/results/catalogue.js';
import { startReferenceServer, type ReferenceServer } from '../reference-server/index.js';
import { CORE_SERVERS } from './fixtures/core-servers.js';
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

  it('passes the embedded reference server (no FAIL, NON-STRICT or ERROR) and writes the reports it names', async () => {
    const r = await runCli(['check', '--report-dir', reports]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(new RegExp(`${CATALOGUE.length} cases: \\d+ PASS`));
    expect(r.stdout).to.match(/exit code 0: no FAIL or ERROR$/m);
    const html = /reports: (\S+mochawesome\.html)/.exec(r.stdout)?.[1];
    const json = /^\s+(\S+summary\.json)$/m.exec(r.stdout)?.[1];
    expect(html, 'printed mochawesome path').to.be.a('string');
    expect(existsSync(html ?? ''), `${html} exists`).to.equal(true);
    const verdicts = verdictsOf(readFileSync(json ?? '', 'utf8'));
    expect([...verdicts.keys()]).to.deep.equal(CATALOGUE.map((c) => c.id));
    // INFO-class cases report findings and capability-gated ones may be UNSUPPORTED here; nothing worse.
    expect([...verdicts].filter(([, v]) => ['FAIL', 'NON-STRICT', 'ERROR'].includes(v))).to.deep.equal([]);
    expect(existsSync(join(html ?? '', '..', 'mochawesome.json'))).to.equal(true);
    expect(existsSync(join(html ?? '', '..', 'junit.xml'))).to.equal(true);
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

  it('finds no FAIL, NON-STRICT or ERROR in `echolot serve` bound to 127.0.0.1 and 127.0.0.2, 4.3 included', async () => {
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
        [...verdicts].filter(([, v]) => ['FAIL', 'NON-STRICT', 'ERROR'].includes(v)),
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
    // Sections 1 and 3 as the catalogue has them (other sections' cases must not leak in).
    expect(ids).to.deep.equal(CATALOGUE.filter((c) => /^[13]\./.test(c.id)).map((c) => c.id));
    expect(ids).to.include.members(['1.1', '1.4', '3.1', '3.2']);
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
      '--expectations',
      '--update-expectations',
      '--fail-on-unexpected-pass',
      '--help',
    ]) {
      expect(r.stdout).to.include(option);
    }
    expect(r.stdout).to.match(/Exit codes: 0/);
    const top = await runCli(['--help']);
    expect(top.code).to.equal(0);
    expect(top.stdout).to.include('echolot check').and.include('echolot serve');
  });

  describe('as a CI gate with an expectations file', () => {
    const truncate = CORE_SERVERS.find((f) => f.name === 'truncate-1024');
    const only = ['--only', '1.1,2.5,3.1,3.2', '--runs', '50'];
    let fixture: RunningFixture | undefined;
    let reference: ReferenceServer | undefined;
    let dir: string;
    let port: number;
    let file: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'echolot-gate-'));
      file = join(dir, 'expectations.json');
      fixture = await truncate?.start();
      port = fixture?.port ?? 0;
    });
    after(async () => {
      await fixture?.close();
      await reference?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const check = (...args: string[]): ReturnType<typeof runCli> =>
      runCli(['check', `127.0.0.1:${port}`, ...only, '--report-dir', reports, ...args]);

    it('writes the expectations of a faulty server with --update-expectations and exits 0', async () => {
      const r = await check('--update-expectations', file);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(
        new RegExp(`expectations: wrote \\S+ \\(target 127\\.0\\.0\\.1:${port}\\): 3 changes`),
      );
      expect(r.stdout).to.match(/added {4}3\.1 {3}expected FAIL/);
      expect(JSON.parse(readFileSync(file, 'utf8'))).to.deep.equal({
        version: 1,
        targets: {
          [`127.0.0.1:${port}`]: {
            '2.5': { expected: 'FAIL' },
            '3.1': { expected: 'FAIL' },
            '3.2': { expected: 'FAIL' },
          },
        },
      });
    });

    it('exits 0 on the same defects with --expectations, marking them expected in summary.json and junit.xml', async () => {
      const r = await check('--expectations', file, '--json');
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/exit code 0: all results as expected/);
      const doc = JSON.parse(r.stdout) as {
        results: {
          tests: { extra: { id: string; verdict: string; expected: string[]; unexpected: boolean } }[];
          extra: { run: { runId: string }; expectations: { unexpectedFail: string[] } };
        };
      };
      const t31 = doc.results.tests.find((t) => t.extra.id === '3.1')?.extra;
      expect(t31).to.deep.include({ verdict: 'FAIL', expected: ['FAIL'], unexpected: false });
      const t11 = doc.results.tests.find((t) => t.extra.id === '1.1')?.extra;
      expect(t11).to.deep.include({ verdict: 'PASS', unexpected: false });
      expect(t11?.expected).to.include('PASS').and.not.include('FAIL');
      expect(doc.results.extra.expectations.unexpectedFail).to.deep.equal([]);
      const junit = join(reports, doc.results.extra.run.runId, 'junit.xml');
      const parsed = spawnSync(
        'python3',
        [
          '-c',
          'import sys,xml.dom.minidom as m; d=m.parse(sys.argv[1]); print(" ".join(c.getAttribute("classname")+"|"+c.getAttribute("name").split(" ")[0]+"|"+",".join(k.tagName for k in c.childNodes if k.nodeType==1 and k.tagName!="properties") for c in d.getElementsByTagName("testcase")))',
          junit,
        ],
        { encoding: 'utf8' },
      );
      expect(parsed.status, parsed.stderr).to.equal(0);
      expect(parsed.stdout.trim().split(' ')).to.deep.equal([
        'echolot.conformance.section-1|1.1|',
        'echolot.conformance.section-2|2.5|failure',
        'echolot.conformance.section-3|3.1|failure',
        'echolot.conformance.section-3|3.2|failure',
      ]);
    });

    it('exits 1 on a FAIL the file does not expect, naming the case; an expected FAIL shows its bug link', async () => {
      const edited = join(dir, 'edited.json');
      writeFileSync(
        edited,
        JSON.stringify({
          version: 1,
          targets: {
            [`127.0.0.1:${port}`]: {
              '2.5': { expected: 'FAIL' },
              '3.1': { expected: 'FAIL', bug: 'https://bugs.example/1024' },
            },
          },
        }),
      );
      const r = await check('--expectations', edited);
      expect(r.code, r.stdout + r.stderr).to.equal(1);
      expect(r.stdout).to.match(
        /unexpected FAIL \(1\):\n {2}3\.2 65507 bytes over IPv4 come back unchanged: FAIL, not listed/,
      );
      expect(r.stdout).to.match(/FAIL\s+3\.1 .*\[expected, https:\/\/bugs\.example\/1024\]/);
      expect(r.stdout).to.match(/exit code 1: unexpected FAIL: 3\.2$/m);
    });

    it('reports an unexpected pass when the reference server takes the address: exit 0, or 2 with --fail-on-unexpected-pass', async () => {
      await fixture?.close();
      fixture = undefined;
      reference = await startReferenceServer({ port, bind: ['127.0.0.1'] });
      const r = await check('--expectations', file);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/unexpected pass \(3\):\n {2}2\.5 .*: PASS, expected FAIL/);
      expect(r.stdout).to.match(/exit code 0: all failures expected; unexpected pass .*: 2\.5, 3\.1, 3\.2$/m);
      const strict = await check('--expectations', file, '--fail-on-unexpected-pass');
      expect(strict.code, strict.stdout).to.equal(2);
      expect(strict.stdout).to.match(
        /exit code 2: unexpected pass with --fail-on-unexpected-pass: 2\.5, 3\.1, 3\.2$/m,
      );
    });

    it('exits 1 naming the cases when expectations written from the reference server meet the faulty server', async () => {
      const clean = join(dir, 'clean.json');
      const w = await check('--update-expectations', clean);
      expect(w.code, w.stderr).to.equal(0);
      expect(w.stdout).to.match(/expectations: wrote \S+ \(target 127\.0\.0\.1:\d+\): no changes/);
      await reference?.close();
      reference = undefined;
      fixture = await truncate?.start();
      port = fixture?.port ?? 0;
      const r = await check('--expectations', clean);
      expect(r.code, r.stdout + r.stderr).to.equal(1);
      expect(r.stdout).to.match(/exit code 1: unexpected FAIL: 2\.5, 3\.1, 3\.2$/m);
    });

    it('rejects a malformed expectations file before running, with one line naming file, field and value (64)', async () => {
      const bad = join(dir, 'bad.json');
      writeFileSync(
        bad,
        JSON.stringify({ version: 1, targets: { 'h:7': { '3.1': { expected: 'FAILED' } } } }),
      );
      const r = await check('--expectations', bad);
      expect(r.code).to.equal(64);
      oneLine(r.stderr);
      expect(r.stderr).to.include(
        `echolot: --expectations ${bad}: targets["h:7"]["3.1"].expected: must be a verdict`,
      );
      expect(r.stderr).to.match(/got "FAILED"$/m);
      const u = await check('--update-expectations', bad);
      expect(u.code).to.equal(64);
      expect(readFileSync(bad, 'utf8')).to.include('FAILED');
    });

    it('exits 64 for a missing expectations file and for --fail-on-unexpected-pass without one', async () => {
      const missing = join(dir, 'missing.json');
      const r = await check('--expectations', missing);
      expect(r.code).to.equal(64);
      oneLine(r.stderr);
      expect(r.stderr).to.equal(`echolot: --expectations ${missing}: no such file\n`);
      const f = await check('--fail-on-unexpected-pass');
      expect(f.code).to.equal(64);
      expect(f.stderr).to.match(/--fail-on-unexpected-pass: needs --expectations FILE/);
    });
  });

  it('prints its version', async () => {
    const r = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const [version, io] = r.stdout.trim().split('\n');
    expect(version).to.equal(`echolot ${pkg.version}`);
    expect(io).to.match(process.env['ECHOLOT_IO'] === 'dgram' ? /^i\/o: dgram / : /^i\/o: (native|dgram) /);
  });
});
