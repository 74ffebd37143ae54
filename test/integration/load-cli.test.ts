import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { validate } from 'ctrf';
import type { LoadReportJson } from '../../harness/reporters/load-json.js';
import type { SearchReportJson } from '../../harness/reporters/load-search.js';
import { HarnessError } from '../../harness/errors.js';
import { resolveLoadOptions, runLoad } from '../../harness/load/run-load.js';
import { spawn } from 'node:child_process';
import { LOOPBACK_ONLY, LOOPBACK_ONLY_EXIT, runCli, runCliLoopbackOnly } from '../helpers/cli.js';

const oneLine = (text: string): void => {
  expect(text.trim().split('\n'), `expected one line, got:\n${text}`).to.have.length(1);
  expect(text).to.not.match(/\n\s+at /);
};

describe('echolot load (CLI) [io]', function () {
  let reports: string;
  before(() => {
    reports = mkdtempSync(join(tmpdir(), 'echolot-load-cli-'));
  });
  after(() => rmSync(reports, { recursive: true, force: true }));

  it('--help describes every option, the defaults and the exit codes', async () => {
    const r = await runCli(['load', '--help']);
    expect(r.code).to.equal(0);
    for (const option of [
      '--mode',
      'ping-pong',
      'flood',
      '--duration',
      '--warmup',
      '--rate',
      '--arrival',
      'poisson',
      '--size',
      '--flows',
      '--window',
      '--drain',
      '--interval',
      '--threshold',
      '--json',
      '--ndjson',
      '--report-dir',
      '--i-own-the-target',
      '--help',
      '--workers',
      'search',
      '--max-loss',
      '--max-p99',
      '--trial',
      '--max-rate',
      '--max-trials',
      '--search-time',
      '--repeats',
      '--max-lag',
    ]) {
      expect(r.stdout, option).to.include(option);
    }
    expect(r.stdout).to.match(/default 10s/);
    expect(r.stdout).to.match(/Exit codes: 0 .*1 a threshold is breached .*64 usage error/s);
    expect(r.stdout).to.match(/69 target unreachable/);
    const top = await runCli(['--help']);
    expect(top.stdout).to.match(/echolot load \[HOST:PORT\]/);
  });

  const usageCases: [string[], RegExp][] = [
    [
      ['--size', '8'],
      /^echolot: --size 8: must be an integer in 48\.\.65527 \(the probe header needs 48 bytes\)$/,
    ],
    [['--size', '64,30000,8'], /^echolot: --size 64,30000,8: 8 must be an integer in 48\.\.65527 /],
    [['--size', '64,abc'], /^echolot: --size 64,abc: .*got 'abc'$/],
    [['--rate', 'abc'], /^echolot: --rate abc: must be datagrams per second/],
    [['--threshold', 'p99<<2'], /^echolot: --threshold 'p99<<2': value '<2' is not a number/],
    [['--threshold', 'p99<2'], /^echolot: --threshold 'p99<2': latency '2' needs a unit/],
    [
      ['--threshold', 'p99<2ms', '--threshold', 'p99<2', '--threshold', 'bogus<1'],
      /^echolot: --threshold 'p99<2': latency '2' needs a unit.*; --threshold 'bogus<1': unknown metric 'bogus'/,
    ],
    [['--mode', 'warp'], /^echolot: --mode warp: must be one of ping-pong, rate, flood, search$/],
    [['--arrival', 'bursty'], /^echolot: --arrival bursty: must be one of constant, poisson$/],
    [['--duration', '10'], /^echolot: --duration 10: must be a duration with a unit/],
    [['--duration', 'soon'], /^echolot: --duration soon: must be a duration/],
    [['--flows', '0'], /^echolot: --flows 0: must be an integer in 1\.\.1024$/],
    [['--flows', 'four'], /^echolot: --flows four: must be an integer in 1\.\.1024$/],
    [['--mode', 'flood', '--window', '0'], /^echolot: --window 0: must be an integer in 1\.\.65536$/],
    [['--window', '8'], /^echolot: --window 8: applies to --mode flood only, not to --mode rate$/],
    [['--duration', '50ms'], /^echolot: --duration 50ms: must be at least 100ms$/],
    [['--duration', '25h'], /^echolot: --duration 25h: must be at most 24h$/],
    [['--rate', '0'], /^echolot: --rate 0: must be at least 0\.001\/s$/],
    [
      ['--mode', 'flood', '--rate', '1000'],
      /^echolot: --rate 1000: applies to --mode rate and search only, not to --mode flood$/,
    ],
    [['--json', '--ndjson'], /^echolot: --json and --ndjson: choose one/],
    [['--workers', '0'], /^echolot: --workers 0: must be an integer in 1\.\.64$/],
    [['--workers', '3', '--flows', '2'], /^echolot: --workers 3: must be at most --flows \(2\)/],
    [['--max-loss', '1'], /^echolot: --max-loss 1: applies to --mode search only, not to --mode rate$/],
    [['--mode', 'search', '--max-loss', '200'], /^echolot: --max-loss 200: must be at most 100%$/],
    [['--mode', 'search', '--max-p99', '2'], /^echolot: --max-p99 2: must be a time with a unit/],
    [['--mode', 'search', '--trial', '10ms'], /^echolot: --trial 10ms: must be at least 100ms$/],
    [
      ['--mode', 'search', '--duration', '5s'],
      /^echolot: --duration 5s: does not apply to --mode search: each trial lasts --trial$/,
    ],
    [['--mode', 'search', '--repeats', '99'], /^echolot: --repeats 99: must be an integer in 0\.\.20$/],
    [
      ['--mode', 'search', '--rate', '50k', '--max-rate', '10k'],
      /^echolot: --rate 50k: the search's start rate must be at most --max-rate \(10000\)$/,
    ],
    [
      ['--mode', 'search', '--max-rate', '500'],
      /^echolot: --rate 1k\/s \(default\): the search's start rate must be at most --max-rate \(500\)$/,
    ],
    [
      ['--mode', 'flood', '--max-lag', '2ms'],
      /^echolot: --max-lag 2ms: applies to --mode rate and search only/,
    ],
    [['--bogus'], /^echolot: unknown option --bogus for load \(see 'echolot load --help'\)$/],
    [['127.0.0.1'], /^echolot: target 127\.0\.0\.1: must be HOST:PORT/],
    [['127.0.0.1:7', '127.0.0.1:8'], /^echolot: load takes one target, got 2/],
  ];
  for (const [args, message] of usageCases) {
    it(`rejects ${args.join(' ')} with exit 64 and one line`, async () => {
      const r = await runCli(['load', ...args]);
      expect(r.code, r.stderr).to.equal(64);
      oneLine(r.stderr);
      expect(r.stderr.trim()).to.match(message);
      expect(r.stdout).to.equal('');
    });
  }

  it('exits 74 within 2 s with one line when the report directory cannot be created (/proc/x)', async () => {
    const r = await runCli(['load', '--duration', '1s', '--report-dir', '/proc/x'], 10_000);
    expect(r.code, r.stderr).to.equal(74);
    expect(r.ms).to.be.below(2000);
    oneLine(r.stderr);
    expect(r.stderr).to.match(/^echolot: --report-dir \/proc\/x: cannot create \/proc\/x \(/);
  });

  it('says a bad value in flags and typed text; the library says it in fields and values', async () => {
    const cli = await runCli(['load', '--duration', '50ms']);
    expect(cli.code).to.equal(64);
    expect(cli.stderr).to.equal('echolot: --duration 50ms: must be at least 100ms\n');
    let caught: unknown;
    try {
      resolveLoadOptions({ durationMs: 50 });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(HarnessError);
    expect((caught as HarnessError).message).to.equal('durationMs 50: must be an integer in 100..86400000');
    expect((caught as HarnessError).problems).to.deep.equal([
      {
        path: 'durationMs',
        value: 50,
        message: 'must be an integer in 100..86400000',
        range: [100, 86_400_000],
      },
    ]);
  });

  it('refuses a rate in flood mode on the command line and from the library alike', async () => {
    const cli = await runCli(['load', '--mode', 'flood', '--rate', '5']);
    expect(cli.code).to.equal(64);
    expect(cli.stderr).to.equal(
      'echolot: --rate 5: applies to --mode rate and search only, not to --mode flood\n',
    );
    let caught: unknown;
    try {
      await runLoad({ mode: 'flood', rate: 5 });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(HarnessError);
    expect((caught as HarnessError).code).to.equal('ERR_ECHOLOT_USAGE');
    expect((caught as HarnessError).problems?.map((p) => [p.path, p.value])).to.deep.equal([['rate', 5]]);
    expect((caught as HarnessError).message).to.equal(
      'rate 5: applies to `mode` rate and search only, not to `mode` flood',
    );
  });

  it('refuses a high rate against a non-loopback target without --i-own-the-target, before sending anything', async () => {
    // 198.18.0.1 is the benchmarking range and nothing here routes it: the refusal must come first.
    const r = await runCliLoopbackOnly(
      ['load', '198.18.0.1:7', '--rate', '100000', '--duration', '1s'],
      10_000,
    );
    expect(r.code, r.stderr).to.equal(64);
    expect(r.ms).to.be.below(2000);
    oneLine(r.stderr);
    expect(r.stderr).to.match(
      /^echolot: --rate 100000: against 198\.18\.0\.1, which is not a loopback address/,
    );
    expect(r.stderr).to.match(/--i-own-the-target/);
  });

  it('refuses 1000 datagrams/s of 65507 bytes against a non-loopback target: 45 packets each count against the cap', async () => {
    // 192.0.2.1 (TEST-NET-1) is only parsed: the run may send to loopback only, and ends if it tries more.
    const r = await runCliLoopbackOnly(
      ['load', '192.0.2.1:7', '--rate', '1000', '--size', '65507', '--duration', '1s'],
      10_000,
    );
    expect(r.code, r.stderr).to.not.equal(LOOPBACK_ONLY_EXIT);
    expect(r.code, r.stderr).to.equal(64);
    expect(r.ms).to.be.below(2000);
    oneLine(r.stderr);
    expect(r.stderr).to.match(
      /^echolot: --rate 1000: against 192\.0\.2\.1, which is not a loopback address: 1,000 datagrams\/s of --size 65507 are [\d,]+ packets\/s and [\d.]+ MB\/s on the wire \(\d+ IPv4 packets per datagram, (route )?MTU \d+/,
    );
    expect(r.stderr).to.match(/above the cap of 1,000 packets\/s and 1\.5 MB\/s: .*--i-own-the-target$/m);
    // At the Ethernet MTU a 65507-byte datagram is 45 fragments: 45,000 packets/s, 66.4 MB/s.
    if (/MTU 1500/.test(r.stderr)) expect(r.stderr).to.contain('45,000 packets/s and 66.4 MB/s');
  });

  it('(the loopback-only guard of these tests ends a run that connects towards 192.0.2.1; a UDP connect sends nothing)', async () => {
    const script = [
      "const s = require('node:dgram').createSocket('udp4');",
      "s.connect(7, '192.0.2.1', () => s.close());",
    ].join(' ');
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', LOOPBACK_ONLY, '-e', script], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code, r.stderr).to.equal(LOOPBACK_ONLY_EXIT);
    expect(r.stderr).to.match(/^loopback-only: connect towards 192\.0\.2\.1 stopped/);
  });

  it('refuses the unpaced flood mode against a non-loopback target without --i-own-the-target', async () => {
    const r = await runCliLoopbackOnly(
      ['load', '198.18.0.1:7', '--mode', 'flood', '--duration', '1s'],
      10_000,
    );
    expect(r.code, r.stderr).to.equal(64);
    expect(r.ms).to.be.below(2000);
    oneLine(r.stderr);
    expect(r.stderr).to.match(/--mode flood: unpaced, against 198\.18\.0\.1.*--i-own-the-target/);
  });

  it('refuses a search against a non-loopback target without --i-own-the-target, before sending anything', async () => {
    const r = await runCliLoopbackOnly(['load', '198.18.0.1:7', '--mode', 'search'], 10_000);
    expect(r.code, r.stderr).to.equal(64);
    expect(r.ms).to.be.below(2000);
    expect(r.stderr).to.match(/--mode search: against 198\.18\.0\.1.*--i-own-the-target/);
  });

  it('runs a bounded search and writes its report (--max-trials, --json)', async () => {
    const r = await runCli(
      [
        'load',
        '--mode',
        'search',
        '--trial',
        '200ms',
        '--warmup',
        '100ms',
        '--drain',
        '100ms',
        '--max-trials',
        '2',
        '--repeats',
        '0',
        '--max-lag',
        '50ms',
        '--report-dir',
        reports,
        '--json',
      ],
      30_000,
    );
    const doc = JSON.parse(r.stdout) as SearchReportJson;
    expect(doc.mode).to.equal('search');
    expect(doc.trials.length).to.be.within(1, 2);
    expect(doc.trials[0]?.offered).to.equal(1000);
    expect(doc.limitedBy).to.be.oneOf(['budget', 'server', 'generator']);
    expect(r.stderr).to.match(/^\s+ramp\s+1,000\/s offered/m);
    expect(r.stderr).to.match(/^limited by /m);
    expect(r.code, r.stderr).to.equal(doc.foundRate === null ? 1 : 0);
    const path = /report (\S+load\.json)/.exec(r.stderr)?.[1] ?? '';
    expect((JSON.parse(readFileSync(path, 'utf8')) as SearchReportJson).runId).to.equal(doc.runId);
  });

  describe('a real 2-second rate run against the embedded reference server', () => {
    const run = (extra: readonly string[]) =>
      runCli(
        ['load', '--duration', '2s', '--rate', '2000', '--drain', '300ms', '--report-dir', reports, ...extra],
        30_000,
      );

    it('exits 0 when the thresholds hold and prints the report as JSON with --json', async () => {
      const r = await run(['--threshold', 'loss<5%', '--threshold', 'duplicates==0', '--json']);
      expect(r.code, r.stderr).to.equal(0);
      const doc = JSON.parse(r.stdout) as LoadReportJson;
      expect(doc.mode).to.equal('rate');
      expect(doc.target.embedded).to.equal(true);
      expect(doc.counters.sent).to.be.above(1000);
      expect(doc.counters.unique).to.be.above(0);
      expect(doc.passed).to.equal(true);
      expect(doc.thresholds.map((t) => [t.threshold, t.ok])).to.deep.equal([
        ['loss<5%', true],
        ['duplicates==0', true],
      ]);
      // The human report went to stderr and names the file it wrote.
      const path = /report (\S+load\.json)/.exec(r.stderr)?.[1] ?? '';
      expect(existsSync(path), `${path} exists`).to.equal(true);
      expect((JSON.parse(readFileSync(path, 'utf8')) as LoadReportJson).runId).to.equal(doc.runId);
    });

    it('exits 1 when a threshold is breached and says which', async () => {
      const r = await run(['--threshold', 'p50<1ns', '--threshold', 'loss<5%']);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout).to.match(/^latency\s+min\s+p50/m);
      expect(r.stdout).to.match(/\[FAIL\] p50<1ns\s+actual \S+/);
      expect(r.stdout).to.match(/\[ok\]\s+loss<5%/);
      expect(r.stdout).to.match(/^run \S+, report \S+load\.json$/m);
      expect(r.stdout).to.not.include('\u001b[');
      // junit.xml and summary.json (CTRF) beside load.json: one test per threshold, the breach with its value.
      const dir = dirname(/report (\S+load\.json)/.exec(r.stdout)?.[1] ?? '');
      const summary = /^reports: (\S+summary\.json)\n\s+(\S+junit\.xml)$/m.exec(r.stdout);
      expect(summary?.slice(1), r.stdout).to.deep.equal([join(dir, 'summary.json'), join(dir, 'junit.xml')]);
      const ctrf = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
        results: { tests: { name: string; status: string; message: string }[] };
      };
      expect(validate(ctrf).errors).to.deep.equal([]);
      expect(ctrf.results.tests.map((t) => t.name)).to.deep.equal([
        'p50<1ns',
        'loss<5%',
        'generator healthy',
      ]);
      expect(ctrf.results.tests[0]).to.include({ status: 'failed' });
      expect(ctrf.results.tests[0]?.message).to.match(/^breached p50<1ns, actual [\d.]+ (ns|us|ms)$/);
      const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
      expect(junit).to.match(/<testsuites name="echolot load [^"]*" tests="3" failures="1" errors="0"/);
      expect(junit).to.match(
        /<testcase name="p50&lt;1ns" classname="echolot\.load" time="[\d.]+">\n\s+<failure message="breached p50&lt;1ns, actual [\d.]+ (ns|us|ms)" type="FAIL">/,
      );
    });

    it('prints one NDJSON line per interval, then the result line, with --ndjson', async () => {
      const r = await run(['--ndjson', '--interval', '500ms']);
      expect(r.code, r.stderr).to.equal(0);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string });
      const last = lines.pop();
      expect(last?.type).to.equal('result');
      expect(lines.length).to.be.at.least(2);
      expect(lines.every((l) => l.type === 'interval')).to.equal(true);
    });
  });
});
