import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from 'ctrf';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import { startReferenceServer, type ReferenceServer } from '../../reference-server/index.js';
import { truncate1024 } from '../fixtures/servers/truncate-1024.js';
import { reply, startSilentServer, udp4Server, type RunningFixture } from '../fixtures/fixture-server.js';
import { CLI, runCli, verdictsOf } from '../helpers/cli.js';

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

  it('passes the embedded reference server (no FAIL, NON-STRICT or ERROR) and writes the reports it names, summary.json valid CTRF [io]', async () => {
    const r = await runCli(['check', '--report-dir', reports]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(new RegExp(`${CATALOGUE.length} cases: \\d+ PASS`));
    expect(r.stdout).to.match(/exit code 0: no FAIL or ERROR$/m);
    const html = /reports: (\S+mochawesome\.html)/.exec(r.stdout)?.[1];
    const json = /^\s+(\S+summary\.json)$/m.exec(r.stdout)?.[1];
    expect(html, 'printed mochawesome path').to.be.a('string');
    expect(existsSync(html ?? ''), `${html} exists`).to.equal(true);
    const summaryJson = readFileSync(json ?? '', 'utf8');
    expect(validate(JSON.parse(summaryJson)).errors, 'summary.json is valid CTRF').to.deep.equal([]);
    const verdicts = verdictsOf(summaryJson);
    expect([...verdicts.keys()]).to.deep.equal(CATALOGUE.map((c) => c.id));
    // INFO-class cases report findings and capability-gated ones may be UNSUPPORTED here; nothing worse.
    expect([...verdicts].filter(([, v]) => ['FAIL', 'NON-STRICT', 'ERROR'].includes(v))).to.deep.equal([]);
    expect(existsSync(join(html ?? '', '..', 'mochawesome.json'))).to.equal(true);
    expect(existsSync(join(html ?? '', '..', 'junit.xml'))).to.equal(true);
  });

  it('prints summary.json on stdout with --json, CTRF-shaped, with evidence and the seed [io]', async () => {
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

  it('prints no progress when stdout is not a terminal: no carriage return, no escape code [io]', async () => {
    const r = await runCli(['check', '--only', '1.1,2.1', '--report-dir', reports]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/PASS\s+1\.1 /);
    // eslint-disable-next-line no-control-regex
    expect(r.stdout + r.stderr).to.not.match(/[\r\u001b]/);
  });

  it('shows the running case, a counter and the time on one status line on a terminal [io]', function () {
    if (spawnSync('script', ['--version']).status !== 0) this.skip();
    // script(1) gives the CLI a pseudo-terminal; what the terminal received comes back on stdout.
    const command = [process.execPath, CLI, 'check', '--only', '1.1,2.1', '--report-dir', reports]
      .map((a) => `'${a}'`)
      .join(' ');
    const r = spawnSync('script', ['-qec', command, '/dev/null'], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', GITHUB_ACTIONS: undefined, GITHUB_STEP_SUMMARY: undefined },
      timeout: 60_000,
    });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    const erase = '\r\u001b[K';
    expect(r.stdout).to.include(`${erase}  [1/2] 1.1 `);
    expect(r.stdout).to.include(`${erase}  [2/2] 2.1 `);
    expect(r.stdout).to.match(/\[1\/2\] 1\.1 .+ \d+ s/);
    // The status is erased before each result line: what follows the last erase is the result alone.
    const results = r.stdout.split('\n').filter((l) => /PASS\s+\d/.test(l));
    expect(results).to.have.length(2);
    for (const l of results) {
      const after = l.split(erase).pop()?.replace(/\r$/, '') ?? '';
      expect(after).to.match(/^ {2}PASS\s+\d\.\d /);
      expect(after).to.not.include('\r').and.to.not.include('\u001b');
    }
  });

  it('finds no FAIL, NON-STRICT or ERROR in `echolot serve` bound to 127.0.0.1 and 127.0.0.2, 4.3 included [io]', async () => {
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

  it('exits 74 within 2 s with one line when the report directory cannot be created (/proc/x)', async () => {
    const r = await runCli(['check', '--only', '1.1', '--report-dir', '/proc/x'], 10_000);
    expect(r.code, r.stderr).to.equal(74);
    expect(r.ms).to.be.below(2000);
    oneLine(r.stderr);
    expect(r.stderr).to.match(
      /^echolot: --report-dir \/proc\/x: cannot create \/proc\/x \([A-Z]+: [^)]+\)$/m,
    );
    expect(r.stdout).to.equal('');
  });

  it('exits 74 with one line before running any case when --update-expectations cannot be written', async () => {
    const r = await runCli(
      ['check', '--only', '1.1', '--report-dir', reports, '--update-expectations', '/proc/x/e.json'],
      30_000,
    );
    expect(r.stdout, 'no case has run').to.equal('');
    expect(r.code, r.stderr).to.equal(74);
    oneLine(r.stderr);
    expect(r.stderr).to.equal(
      'echolot: --update-expectations /proc/x/e.json: directory /proc/x does not exist\n',
    );
  });

  describe('against a server that never answers', () => {
    let silent: RunningFixture;
    before(async () => {
      silent = await startSilentServer();
    });
    after(() => silent.close());
    it('names the process whose socket never answers: 1.1 FAIL, the rest not run, exit 1', async () => {
      const r = await runCli(['check', `127.0.0.1:${silent.port}`, '--report-dir', reports, '--json']);
      expect(r.code, r.stderr).to.equal(1);
      const doc = JSON.parse(r.stdout) as {
        results: { tests: { message: string; extra: { id: string; verdict: string } }[] };
      };
      const failed = doc.results.tests.filter((t) => t.extra.verdict === 'FAIL');
      expect(failed.map((t) => t.extra.id)).to.deep.equal(['1.1']);
      expect(failed[0]?.message).to.match(
        new RegExp(
          `a socket bound to 127\\.0\\.0\\.1:${silent.port} by process ${process.pid} \\(node\\) never answers`,
        ),
      );
      const others = doc.results.tests.filter((t) => t.extra.id !== '1.1');
      expect(
        others.every((t) => t.extra.verdict === 'NOT-RUN'),
        JSON.stringify(others.map((t) => t.extra)),
      ).to.equal(true);
      expect(others[0]?.message).to.match(/not run: the target never answered: .* \(case 1\.1\)/);
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
    [
      'an unknown option',
      ['check', '--frobnicate'],
      64,
      /^echolot: unknown option --frobnicate for check \(see 'echolot check --help'\)$/m,
    ],
    ['a bad timeout', ['check', '--timeout', '5'], 64, /--timeout 5: must be an integer in 10\.\.60000/],
    [
      '--path without --seed',
      ['check', '--path', '1:2'],
      64,
      /^echolot: --path 1:2: needs --seed \(a path replays one seed\)$/m,
    ],
    [
      'a seed that is no integer',
      ['check', '--seed', '1e3'],
      64,
      /^echolot: --seed 1e3: must be an integer in -2147483648\.\.2147483647$/m,
    ],
    [
      'a bad retry count',
      ['check', '--retries', '11'],
      64,
      /^echolot: --retries 11: must be an integer in 0\.\.10$/m,
    ],
    [
      'a further address that is no IP address',
      ['check', '--target-addrs', '127.0.0.2,nope'],
      64,
      /^echolot: --target-addrs 127\.0\.0\.2,nope: nope must be an IP address$/m,
    ],
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

  it('floods a loopback target without --i-own-the-target: the embedded server, and a server on 127.0.0.1 [io]', async () => {
    let reference: ReferenceServer | undefined;
    try {
      reference = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
      for (const target of [[], [`127.0.0.1:${reference.port}`]]) {
        const r = await runCli(
          ['check', ...target, '--only', '7.5,7.6,10.2', '--json', '--report-dir', reports],
          60_000,
        );
        expect(r.code, r.stderr).to.equal(0);
        const verdicts = verdictsOf(r.stdout);
        expect([...verdicts.keys()]).to.deep.equal(['7.5', '7.6', '10.2']);
        // They ran (a busy host may make one FLAKY); none is UNSUPPORTED.
        expect(verdicts.get('7.6'), r.stderr).to.equal('INFO');
        for (const id of ['7.5', '10.2']) expect(verdicts.get(id), r.stderr).to.be.oneOf(['PASS', 'FLAKY']);
        expect(r.stderr).to.not.contain('does not own');
        expect(r.stderr).to.match(/INFO\s+7\.6\s+answered \d+ of \d+ 16-byte datagrams/);
      }
    } finally {
      await reference?.close();
    }
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
      '--i-own-the-target',
      '--help',
    ]) {
      expect(r.stdout).to.include(option);
    }
    // The cases that flood, from the catalogue: the ones --i-own-the-target lets run on a remote target.
    expect(r.stdout).to.match(/--i-own-the-target .*\n\s+\(7\.5, 7\.6, 10\.1, 10\.2, 10\.3, 10\.4\)/);
    expect(r.stdout).to.match(/Exit codes: 0/);
    const top = await runCli(['--help']);
    expect(top.code).to.equal(0);
    expect(top.stdout).to.include('echolot check').and.include('echolot serve');
  });

  describe('as a CI gate with an expectations file', () => {
    const only = ['--only', '1.1,2.5,3.1,3.2', '--runs', '50'];
    let fixture: RunningFixture | undefined;
    let reference: ReferenceServer | undefined;
    let dir: string;
    let port: number;
    let file: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'echolot-gate-'));
      file = join(dir, 'expectations.json');
      fixture = await truncate1024.start();
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

    it('reports an unexpected pass when the reference server takes the address: exit 0, or 2 with --fail-on-unexpected-pass [io]', async () => {
      await fixture?.close();
      fixture = undefined;
      reference = await startReferenceServer({ port, bind: ['127.0.0.1'] });
      // Its own file: the [io] pass runs this test without the ones that write it.
      const expecting = join(dir, 'expecting-failures.json');
      writeFileSync(
        expecting,
        JSON.stringify({
          version: 1,
          targets: {
            [`127.0.0.1:${port}`]: {
              '2.5': { expected: 'FAIL' },
              '3.1': { expected: 'FAIL' },
              '3.2': { expected: 'FAIL' },
            },
          },
        }),
      );
      const r = await check('--expectations', expecting);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/unexpected pass \(3\):\n {2}2\.5 .*: PASS, expected FAIL/);
      expect(r.stdout).to.match(/exit code 0: all failures expected; unexpected pass .*: 2\.5, 3\.1, 3\.2$/m);
      const strict = await check('--expectations', expecting, '--fail-on-unexpected-pass');
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
      fixture = await truncate1024.start();
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
      expect(f.stderr).to.match(
        /^echolot: --fail-on-unexpected-pass: needs --expectations \(an unexpected pass is judged against a file\)$/m,
      );
    });
  });

  describe('against a hostile server whose replies carry terminal and workflow-command sequences', () => {
    /** A terminal title, a screen clear, a forged GitHub Actions command on a line of its own. */
    const HOSTILE = Buffer.from('\u001b]0;pwned\u0007\u001b[2J\n::error title=X::forged\r\n', 'latin1');
    let hostile: RunningFixture | undefined;
    let dir: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'echolot-hostile-'));
      hostile = await udp4Server('127.0.0.1', (socket, msg, rinfo) =>
        reply(socket, Buffer.concat([HOSTILE, msg]), rinfo),
      );
    });
    after(async () => {
      await hostile?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('prints and writes its bytes escaped, never raw: console, annotations, step summary, summary.json, junit.xml, index.html', async () => {
      const stepSummary = join(dir, 'step-summary.md');
      const r = await runCli(
        [
          'check',
          `127.0.0.1:${hostile?.port}`,
          ...['--only', '1.1,4.5,5.2,6.2', '--no-preflight', '--report-dir', dir],
        ],
        120_000,
        { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: stepSummary },
      );
      const output = r.stdout + r.stderr;
      expect(r.code, output).to.equal(1);
      for (const [name, byte] of [
        ['ESC', '\u001b'],
        ['BEL', '\u0007'],
        ['CR', '\r'],
      ] as const) {
        expect(output.includes(byte), `${name} in the console output:\n${output}`).to.equal(false);
      }
      const commands = output.split('\n').filter((l) => l.startsWith('::'));
      expect(commands.length, output).to.be.greaterThan(0);
      for (const line of commands) expect(line).to.match(/^::(error|warning|notice) title=echolot[ %]/);
      // The bytes were reported, escaped.
      expect(output).to.include('\\x1b]0;pwned\\x07\\x1b[2J\\x0a::error title=X::forged\\x0d\\x0a');
      const [runId] = readdirSync(dir).filter((f) => f !== 'step-summary.md');
      const files = ['summary.json', 'junit.xml', 'index.html'].map((f) => join(dir, runId ?? '', f));
      for (const file of [...files, stepSummary]) {
        const bytes = readFileSync(file);
        for (const b of [0x1b, 0x07]) {
          expect(bytes.includes(b), `byte 0x0${b.toString(16)} in ${file}`).to.equal(false);
        }
        // (The Markdown cell escapes the backslash and the bracket in turn: `\\x1b\]0;pwned`.)
        expect(bytes.toString('utf8'), file).to.match(/\\x1b\\?\]0;pwned/);
      }
      // Escaped at the source: no string of summary.json (messages, evidence) holds a control character.
      const strings: string[] = [];
      const walk = (v: unknown): void => {
        if (typeof v === 'string') strings.push(v);
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(JSON.parse(readFileSync(files[0] ?? '', 'utf8')));
      // eslint-disable-next-line no-control-regex
      expect(strings.filter((s) => /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(s))).to.deep.equal([]);
    });
  });

  it('prints its version', async () => {
    const r = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const [version, io] = r.stdout.trim().split('\n');
    expect(version).to.equal(`echolot ${pkg.version}`);
    expect(io).to.match(process.env['ECHOLOT_IO'] === 'dgram' ? /^i\/o: dgram / : /^i\/o: (native|dgram) /);
  });
});
