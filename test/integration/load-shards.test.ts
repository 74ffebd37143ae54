import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import type { MergedRun } from '../../harness/load/merge.js';
import type { ShardDocument } from '../../harness/load/shard.js';
import type { LoadReportJson } from '../../harness/reporters/load-json.js';
import { startReferenceServer, type ReferenceServer } from '../../reference-server/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';

type MergedJson = LoadReportJson & Pick<MergedRun, 'shards' | 'histograms'>;

const oneLine = (r: CliResult): void => {
  expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1);
  expect(r.stderr).to.not.match(/\n\s+at /);
};

describe('echolot load --shards and echolot merge [io]', function () {
  this.timeout(60_000);
  let server: ReferenceServer;
  let dir: string;
  let shardsDir: string;
  let reports: string;
  const runId = `shard-test-${process.pid}`;
  const docs: ShardDocument[] = [];
  const startAt = { ms: 0 };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'echolot-shards-'));
    shardsDir = join(dir, 'shards');
    reports = join(dir, 'reports');
    mkdirSync(shardsDir);
    server = await startReferenceServer({ port: 0, bind: ['127.0.0.1'] });
    // Two shards on this machine, each at half the rate, started together by --start-at.
    startAt.ms = Date.now() + 3000;
    const runs = await Promise.all(
      [0, 1].map((i) =>
        runCli(
          [
            'load',
            `127.0.0.1:${server.port}`,
            '--rate',
            '2000',
            '--flows',
            '3',
            '--duration',
            '1s',
            '--drain',
            '300ms',
            '--interval',
            '1s',
            '--shards',
            '2',
            '--run-id',
            runId,
            '--start-at',
            String(startAt.ms),
            '--out',
            join(shardsDir, `shard-${i}.json`),
            '--report-dir',
            reports,
          ],
          30_000,
          { JOB_COMPLETION_INDEX: String(i) },
        ),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr + r.stdout).to.equal(0);
    for (const i of [0, 1]) {
      docs.push(JSON.parse(readFileSync(join(shardsDir, `shard-${i}.json`), 'utf8')) as ShardDocument);
    }
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each shard runs half the rate and its share of the flows, and writes its complete result', () => {
    docs.forEach((d, i) => {
      expect(d).to.include({ format: 'echolot-load-shard', version: 1, runId, startAtEpochMs: startAt.ms });
      expect(d.shard).to.deep.equal({ index: i, count: 2 });
      expect(d.options.rate).to.equal(1000);
      expect(d.plan.rate).to.equal(2000);
      expect(d.plan.flows).to.equal(3);
      expect(d.startOffsetMs).to.be.at.least(0);
      expect(d.counters.sent).to.be.within(950, 1050);
      expect(d.histogram).to.include({ significantDigits: 3, lowestDiscernibleValue: 1 });
      // The response histogram decodes with hdr-histogram-js and holds every timely reply.
      const h = hdr.decodeFromCompressedBase64(d.histograms.response.encoded);
      expect(h.totalCount).to.equal(d.histograms.response.count);
      h.destroy();
      expect(d.intervals.buckets[0]?.atEpochMs).to.equal(d.measureStartEpochMs);
    });
    expect(docs[0]?.options.flows).to.equal(2);
    expect(docs[1]?.options.flows).to.equal(1);
  });

  it('merges exactly: counters summed, percentiles those of one histogram of every value; thresholds on the merge', async () => {
    // sent-rate>=1500 holds for the merged run (about 2000/s) and for neither shard alone (about 1000/s).
    const r = await runCli(
      ['merge', shardsDir, '--threshold', 'sent-rate>=1500', '--report-dir', reports, '--json'],
      30_000,
    );
    expect(r.code, r.stderr).to.equal(0);
    const m = JSON.parse(r.stdout) as MergedJson;
    expect(m.runId).to.equal(runId);
    for (const k of ['sent', 'received', 'unique', 'lost', 'late', 'duplicates', 'foreign'] as const) {
      expect(m.counters[k], k).to.equal((docs[0]?.counters[k] ?? NaN) + (docs[1]?.counters[k] ?? NaN));
    }
    expect(m.thresholds[0]).to.include({ ok: true, actual: m.counters.sent });
    expect(m.rates.offered).to.equal(2000);
    expect(m.options.flows).to.equal(3);

    for (const [key, summary] of [
      ['response', m.response],
      ['service', m.service],
      ['sendLag', m.sendLag],
    ] as const) {
      const all = hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 60_000_000,
        numberOfSignificantValueDigits: 3,
      });
      for (const d of docs) {
        const h = hdr.decodeFromCompressedBase64(d.histograms[key].encoded);
        all.add(h);
        h.destroy();
      }
      expect(summary.count, key).to.equal(all.totalCount);
      expect([summary.p50, summary.p90, summary.p99, summary.p999, summary.p9999], key).to.deep.equal(
        [50, 90, 99, 99.9, 99.99].map((p) => all.getValueAtPercentile(p)),
      );
      const merged = hdr.decodeFromCompressedBase64(m.histograms[key].encoded);
      expect(merged.totalCount, key).to.equal(all.totalCount);
      merged.destroy();
      all.destroy();
    }
    const intervalSent = m.intervals.reduce((a, i) => a + i.sent, 0);
    if (m.shards.startSpreadMs < 500) expect(intervalSent).to.equal(m.counters.sent);

    expect(m.shards).to.include({ count: 2, partial: false });
    expect(m.shards.rows.map((x) => x.index)).to.deep.equal([0, 1]);
    expect(m.shards.rows.map((x) => x.sent)).to.deep.equal(docs.map((d) => d.counters.sent));
    expect(r.stderr).to.match(/\nShards\n/);
    const html = readFileSync(join(reports, runId, 'index.html'), 'utf8');
    expect(html).to.include('<h3>Shards</h3>');
    expect(JSON.parse(readFileSync(join(reports, runId, 'load.json'), 'utf8'))).to.have.property('shards');

    const failing = await runCli([
      'merge',
      shardsDir,
      '--threshold',
      'sent-rate>=2500',
      '--report-dir',
      reports,
    ]);
    expect(failing.code, failing.stderr).to.equal(1);
    // The merge's junit.xml judges the merged run: the breached threshold is a failing test.
    expect(failing.stdout).to.contain(join(reports, runId, 'junit.xml'));
    const junit = readFileSync(join(reports, runId, 'junit.xml'), 'utf8');
    expect(junit).to.match(
      /<testcase name="sent-rate&gt;=2500" classname="echolot\.load" time="[\d.]+">\n\s+<failure message="breached sent-rate&gt;=2500, actual [\d,]+\/s" type="FAIL">/,
    );
    expect(junit).to.include('<testcase name="generator healthy"');
  });

  it('names a missing shard (exit 1) and merges the rest with --allow-partial', async () => {
    const only0 = join(shardsDir, 'shard-0.json');
    const missing = await runCli(['merge', only0, '--report-dir', reports]);
    expect(missing.code).to.equal(1);
    oneLine(missing);
    expect(missing.stderr).to.equal(
      `echolot: run ${runId}: shard 1 of 2 missing (--allow-partial merges the others)\n`,
    );
    const partial = await runCli(['merge', only0, '--allow-partial', '--json', '--report-dir', reports]);
    expect(partial.code, partial.stderr).to.equal(0);
    const m = JSON.parse(partial.stdout) as MergedJson;
    expect(m.shards).to.include({ partial: true });
    expect(m.shards.missing).to.deep.equal([1]);
    expect(m.counters.sent).to.equal(docs[0]?.counters.sent);
    expect(partial.stderr).to.match(/MISSING shard 1/);
  });

  it('refuses a shard given twice, and shards with different histogram settings (exit 65)', async () => {
    const twice = join(dir, 'again.json');
    copyFileSync(join(shardsDir, 'shard-0.json'), twice);
    const dup = await runCli(['merge', join(shardsDir, 'shard-0.json'), twice, '--report-dir', reports]);
    expect(dup.code).to.equal(65);
    oneLine(dup);
    expect(dup.stderr).to.include(`shard 0 of run ${runId} twice`);

    const other = join(dir, 'other-digits.json');
    const d1 = JSON.parse(readFileSync(join(shardsDir, 'shard-1.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      other,
      JSON.stringify({ ...d1, histogram: { ...(d1['histogram'] as object), significantDigits: 2 } }),
    );
    const settings = await runCli(['merge', join(shardsDir, 'shard-0.json'), other, '--report-dir', reports]);
    expect(settings.code).to.equal(65);
    oneLine(settings);
    expect(settings.stderr).to.include('different histogram settings');

    const notShard = join(dir, 'not-a-shard.json');
    writeFileSync(notShard, '{"format":"something else"}');
    const wrong = await runCli(['merge', notShard, '--report-dir', reports]);
    expect(wrong.code).to.equal(65);
    expect(wrong.stderr).to.include('not an echolot load shard');
  });
});
