import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipBecause } from '../helpers/skip.js';
import { hasCompiler } from '../support/impaired-path.js';

/** dist/bench/bench.js, the script behind `npm run bench`. */
const BENCH = fileURLToPath(new URL('../../bench/bench.js', import.meta.url));
/** This checkout's bench/ (its servers: bench/naive-server.mjs, bench/build/echo-mmsg...). */
const BENCH_SOURCES = fileURLToPath(new URL('../../../bench/', import.meta.url));

/** .ci/run installs gcc when it is root; elsewhere a missing compiler is the machine's, not the bench's. */
const NO_COMPILER = 'no C compiler (cc) on PATH; .ci/run installs gcc as root';

interface BenchRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runBench(args: readonly string[], timeoutMs: number): Promise<BenchRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface ReportRow {
  readonly id: string;
  readonly skipped?: string;
  readonly median: number | null;
  readonly payloadBytes?: number;
  readonly medianBytesPerSecond?: number;
  readonly samples: readonly Record<string, number>[];
}

/** Whether `sockperf` runs here (.ci/run installs it as root). */
function hasSockperf(): boolean {
  try {
    execFileSync('sockperf', ['--version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

describe('npm run bench (--quick)', function () {
  this.timeout(90_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'echolot-bench-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds the C baselines, measures every row once and writes the report with its ratios', async function () {
    if (!hasCompiler()) skipBecause(this, NO_COMPILER);
    const r = await runBench(['--quick', '--report-dir', dir], 80_000);
    expect(r.code, r.stderr).to.equal(0);
    const escaped = (text: string): string => text.replace(/[/.]/g, (c) => `\\${c}`);
    expect(r.stdout).to.match(
      new RegExp(`${escaped('echolot generator / naive generator')}\\s+\\d+\\.\\d{3}`),
    );
    // Without sockperf (not installed, and not root to install it) its rows skip and its ratio says n/a.
    expect(r.stdout).to.match(
      new RegExp(
        `${escaped('ping-pong p50 echolot / sockperf')}\\s+${hasSockperf() ? '\\d+\\.\\d{3}' : 'n/a'}`,
      ),
    );
    // The goals, printed next to their ratios whatever the figures (the exit code is 0 either way).
    for (const [ratio, goal] of [
      ['reference server / C mmsg server', '>= 1.00'],
      ['reference server / C mmsg server, 65507 B', '>= 1.00'],
      ['echolot generator / C generator', '>= 1.00'],
      ['echolot generator / C generator, 1472 B', '>= 1.00'],
      ['echolot generator / C generator, 1000 flows', '>= 1.00'],
      ['ping-pong p50 echolot / C', '<= 1.05'],
    ] as const) {
      expect(r.stdout).to.match(
        new RegExp(`\\n  ${escaped(ratio)}\\s+\\d+\\.\\d{3}  goal ${escaped(goal)}: (met|NOT MET) `),
      );
    }
    expect(r.stdout).to.include('ratios of medians of 1 interleaved repetition ');
    const files = readdirSync(dir).filter((f) => /^bench-.*\.json$/.test(f));
    expect(files).to.have.length(1);
    const report = JSON.parse(readFileSync(join(dir, files[0] as string), 'utf8')) as {
      rows: ReportRow[];
      ratios: { name: string; value: number | null }[];
    };
    const ids = report.rows.map((row) => row.id);
    expect(ids).to.include.members([
      'server.reference',
      'server.naive',
      'server.c-mmsg',
      'server.c-loop',
      'server.inetd-veth',
      'server.c-mmsg-veth',
      'generator.echolot',
      'generator.echolot-loop',
      'generator.naive',
      'generator.c-mmsg',
      'ping-pong.echolot',
      'ping-pong.echolot-loop',
      'ping-pong.c',
      'rate.echolot',
      'rate.c',
      'server.reference.1472',
      'server.c-mmsg.1472',
      'server.reference.65507',
      'server.c-mmsg.65507',
      'generator.echolot.1472',
      'generator.c-mmsg.1472',
      'generator.echolot.65507',
      'generator.c-mmsg.65507',
      'generator.echolot.1000-flows',
      'generator.c-mmsg.1000-flows',
      'sockperf.ping-pong',
      'sockperf.throughput',
    ]);
    for (const row of report.rows) {
      if (row.skipped !== undefined) {
        // Only the test-host and sockperf rows may skip, and only with a reason (not root, no
        // openbsd-inetd, no sockperf); in --quick also sockperf's throughput and echolot's generator
        // at 65507 bytes (its 1472-byte row runs).
        if (row.id === 'sockperf.throughput') {
          expect(row.skipped).to.match(/--quick|sockperf is not installed/);
        } else if (row.id.startsWith('sockperf.')) {
          expect(row.skipped).to.match(/sockperf is not installed/);
        } else if (row.id === 'generator.echolot.65507') {
          expect(row.skipped).to.match(/^--quick: /);
        } else {
          expect(row.id).to.match(/-veth$/);
          expect(row.skipped).to.match(/root|inetd|ip command/);
        }
        continue;
      }
      expect(row.samples, row.id).to.have.length(1);
      // A send lag p99 can be 0 whole us on a quiet machine; every other figure is above 0.
      if (row.id.startsWith('rate.')) expect(row.median, row.id).to.be.a('number').and.at.least(0);
      else expect(row.median, row.id).to.be.a('number').and.greaterThan(0);
      if (row.payloadBytes !== undefined) {
        expect(row.medianBytesPerSecond, row.id).to.be.closeTo((row.median ?? NaN) * row.payloadBytes, 1e-3);
      }
    }
    const byId = new Map(report.rows.map((row) => [row.id, row]));
    expect(byId.get('server.reference.65507')?.payloadBytes).to.equal(65507);
    if (process.getuid?.() === 0) {
      expect(byId.get('server.inetd-veth')?.skipped).to.equal(undefined);
    }
    if (hasSockperf()) expect(byId.get('sockperf.ping-pong')?.skipped).to.equal(undefined);
    // A server row that measures something else than the server (the reference server's loop guard
    // dropping a run of identical payloads did) is orders of magnitude below the C server's.
    const share = (byId.get('server.reference')?.median ?? 0) / (byId.get('server.c-mmsg')?.median ?? 1);
    expect(share, 'reference server / C mmsg server').to.be.greaterThan(0.02);
    for (const ratio of report.ratios) {
      if (ratio.name.includes('veth') && process.getuid?.() !== 0) continue;
      if (ratio.name.includes('sockperf') && !hasSockperf()) continue;
      if (ratio.name === 'echolot generator / C generator, 65507 B') continue; // skipped in --quick
      if (ratio.name.startsWith('rate-mode')) {
        // 0 over 0 has no value; otherwise a ratio of two send lags, each 0 or more.
        if (ratio.value !== null) expect(ratio.value, ratio.name).to.be.at.least(0);
        continue;
      }
      expect(ratio.value, ratio.name).to.be.a('number').and.greaterThan(0);
    }
  });

  it('stops its servers on SIGTERM and exits 143 without a report', async function () {
    if (!hasCompiler()) skipBecause(this, NO_COMPILER);
    const reports = mkdtempSync(join(tmpdir(), 'echolot-bench-term-'));
    const child = spawn(process.execPath, [BENCH, '--quick', '--report-dir', reports], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The servers are up once the first rows run: the header is printed before they start.
    const deadline = Date.now() + 20_000;
    while (!/load average before/.test(stdout) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 3000));
    const benchProcesses = (): string[] =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .map((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8');
          } catch {
            return '';
          }
        })
        .filter((c) => c.includes(BENCH_SOURCES));
    // The servers run for the whole bench; a generator only while it measures a row.
    const servers = (): string[] => benchProcesses().filter((c) => !/gen-mmsg|naive-generator/.test(c));
    expect(servers(), 'the bench servers run').to.not.deep.equal([]);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await closed;
    clearTimeout(timer);
    expect(code, stderr).to.equal(143);
    expect(stderr).to.contain(
      'bench: interrupted by SIGTERM: servers and test host stopped, no report written',
    );
    // A generator stopped mid-row is not a broken setup.
    expect(stderr).to.not.contain('broken setup');
    // Nothing of the bench is left: no server, and no generator running out its row.
    expect(benchProcesses()).to.deep.equal([]);
    expect(readdirSync(reports)).to.deep.equal([]);
    rmSync(reports, { recursive: true, force: true });
  });

  it('a broken setup (an unknown argument, a bad value) exits 2 and says why', async () => {
    const r = await runBench(['--frobnicate'], 20_000);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/broken setup: unknown argument --frobnicate/);
    const reps = await runBench(['--reps', 'five'], 20_000);
    expect(reps.code).to.equal(2);
    expect(reps.stderr).to.equal('bench: broken setup: --reps must be a positive integer, got "five"\n');
  });

  it('--help prints every option and the exit codes, measures nothing and exits 0', async () => {
    const r = await runBench(['--help'], 20_000);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    for (const option of [
      '--quick',
      '--reps',
      '--duration-ms',
      '--flows',
      '--window',
      '--no-pin',
      '--report-dir',
    ]) {
      expect(r.stdout).to.include(`  ${option}`);
    }
    expect(r.stdout).to.match(/exit codes: 0 .*2 broken setup/s);
    expect(r.stdout).to.not.match(/ratios of medians|group +row/);
  });
});
