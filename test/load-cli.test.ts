import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadReportJson } from '../harness/reporters/load-json.js';
import type { SearchReportJson } from '../harness/reporters/load-search.js';
import { runCli } from './helpers/cli.js';

const oneLine = (text: string): void => {
  expect(text.trim().split('\n'), `expected one line, got:\n${text}`).to.have.length(1);
  expect(text).to.not.match(/\n\s+at /);
};

describe('echolot load (CLI)', function () {
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
    [['--size', '8'], /^echolot: --size 8: each size must be an integer in \d+\.\.\d+ .*got '8'$/],
    [['--size', '64,abc'], /^echolot: --size 64,abc: .*got 'abc'$/],
    [['--rate', 'abc'], /^echolot: --rate abc: must be datagrams per second/],
    [['--threshold', 'p99<<2'], /^echolot: --threshold 'p99<<2': value '<2' is not a number/],
    [['--threshold', 'p99<2'], /^echolot: --threshold 'p99<2': latency '2' needs a unit/],
    [['--mode', 'warp'], /^echolot: --mode warp: must be one of ping-pong, rate, flood, search$/],
    [['--arrival', 'bursty'], /^echolot: --arrival bursty: must be one of constant, poisson$/],
    [['--duration', '10'], /^echolot: --duration 10: must be a duration with a unit/],
    [['--duration', 'soon'], /^echolot: --duration soon: must be a duration/],
    [['--flows', '0'], /^echolot: --flows 0: must be an integer in 1\.\.1024$/],
    [['--window', '0'], /^echolot: --window 0: must be an integer in 1\.\.65536$/],
    [
      ['--mode', 'flood', '--rate', '1000'],
      /^echolot: --rate 1000: applies to --mode rate and search only, not to --mode flood$/,
    ],
    [['--json', '--ndjson'], /^echolot: --json and --ndjson: choose one/],
    [['--workers', '0'], /^echolot: --workers 0: must be an integer in 1\.\.64$/],
    [['--workers', '3', '--flows', '2'], /^echolot: --workers 3: must be at most --flows \(2\)/],
    [['--max-loss', '1'], /^echolot: --max-loss 1: applies to --mode search only, not to --mode rate$/],
    [['--mode', 'search', '--max-loss', '200'], /^echolot: --max-loss 200: must be a percentage in 0\.\.100/],
    [['--mode', 'search', '--max-p99', '2'], /^echolot: --max-p99 2: must be a time with a unit/],
    [
      ['--mode', 'search', '--trial', '10ms'],
      /^echolot: --trial 10ms: must be a duration .* in 100ms\.\.60s/,
    ],
    [
      ['--mode', 'search', '--duration', '5s'],
      /^echolot: --duration 5s: in --mode search each trial lasts --trial/,
    ],
    [['--mode', 'search', '--repeats', '99'], /^echolot: --repeats 99: must be an integer in 0\.\.20$/],
    [
      ['--mode', 'search', '--rate', '50k', '--max-rate', '10k'],
      /^echolot: --rate 50000: the search's start rate must be at most --max-rate \(10000\)$/,
    ],
    [
      ['--mode', 'flood', '--max-lag', '2ms'],
      /^echolot: --max-lag 2ms: applies to --mode rate and search only/,
    ],
    [['--bogus'], /^echolot: echolot load: Unknown option '--bogus'/],
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

  it('refuses a high rate against a non-loopback target without --i-own-the-target, before sending anything', async () => {
    // 198.18.0.1 is the benchmarking range and nothing here routes it: the refusal must come first.
    const r = await runCli(['load', '198.18.0.1:7', '--rate', '100000', '--duration', '1s'], 10_000);
    expect(r.code, r.stderr).to.equal(64);
    expect(r.ms).to.be.below(2000);
    oneLine(r.stderr);
    expect(r.stderr).to.match(/198\.18\.0\.1/);
    expect(r.stderr).to.match(/--i-own-the-target/);
  });

  it('refuses the unpaced flood mode against a non-loopback target without --i-own-the-target', async () => {
    const r = await runCli(['load', '198.18.0.1:7', '--mode', 'flood', '--duration', '1s'], 10_000);
    expect(r.code, r.stderr).to.equal(64);
    expect(r.ms).to.be.below(2000);
    oneLine(r.stderr);
    expect(r.stderr).to.match(/--mode flood .*--i-own-the-target/);
  });

  it('refuses a search against a non-loopback target without --i-own-the-target, before sending anything', async () => {
    const r = await runCli(['load', '198.18.0.1:7', '--mode', 'search'], 10_000);
    expect(r.code, r.stderr).to.equal(64);
    expect(r.ms).to.be.below(2000);
    expect(r.stderr).to.match(/--mode search against 198\.18\.0\.1.*--i-own-the-target/);
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
      expect(r.stdout).to.match(/^latency\s+p50/m);
      expect(r.stdout).to.match(/\[FAIL\] p50<1ns\s+actual \S+/);
      expect(r.stdout).to.match(/\[ok\]\s+loss<5%/);
      expect(r.stdout).to.match(/^run \S+, report \S+load\.json$/m);
      expect(r.stdout).to.not.include('\u001b[');
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
