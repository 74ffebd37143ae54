import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench/bench.js, the script behind `npm run bench`. */
const BENCH = fileURLToPath(new URL('../bench/bench.js', import.meta.url));

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
  readonly samples: readonly Record<string, number>[];
}

describe('npm run bench (--quick)', function () {
  this.timeout(90_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'echolot-bench-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds the C baselines, measures every row once and writes the report with its ratios', async function () {
    try {
      execFileSync('cc', ['--version'], { stdio: 'ignore', timeout: 5000 });
    } catch {
      // .ci/run installs gcc when it is root; elsewhere a missing compiler is the machine's, not the bench's.
      console.log('      skipped: no C compiler (cc) on PATH; .ci/run installs gcc as root');
      this.skip();
    }
    const r = await runBench(['--quick', '--report-dir', dir], 80_000);
    expect(r.code, r.stderr).to.equal(0);
    for (const ratio of [
      'reference server / C mmsg server',
      'echolot generator / naive generator',
      'echolot generator / C generator',
      'ping-pong p50 echolot / C',
    ]) {
      expect(r.stdout).to.match(new RegExp(`${ratio.replace(/\//g, '\\/')}\\s+\\d+\\.\\d{3}`));
    }
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
      'generator.naive',
      'generator.c-mmsg',
      'ping-pong.echolot',
      'ping-pong.c',
    ]);
    for (const row of report.rows) {
      if (row.skipped !== undefined) {
        // Only the test-host rows may skip, and only with a reason (not root, no openbsd-inetd).
        expect(row.id).to.match(/-veth$/);
        expect(row.skipped).to.match(/root|inetd|ip command/);
        continue;
      }
      expect(row.samples, row.id).to.have.length(1);
      expect(row.median, row.id).to.be.a('number').and.greaterThan(0);
    }
    if (process.getuid?.() === 0) {
      expect(report.rows.find((row) => row.id === 'server.inetd-veth')?.skipped).to.equal(undefined);
    }
    for (const ratio of report.ratios) {
      if (ratio.name.includes('veth') && process.getuid?.() !== 0) continue;
      expect(ratio.value, ratio.name).to.be.a('number').and.greaterThan(0);
    }
  });

  it('a broken setup (an unknown argument) exits 2 and says why', async () => {
    const r = await runBench(['--frobnicate'], 20_000);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/broken setup: unknown argument --frobnicate/);
  });
});
