import { expect } from 'chai';
import { attributeLoss, SATURATED_ELU, saturationReason } from '../../harness/load/assemble.js';
import { evaluateThresholds, parseThresholds } from '../../harness/load/thresholds.js';
import type { IntervalStats, LoadCounters, LoadResult } from '../../harness/load/types.js';
import {
  formatLatency,
  loadOutcome,
  renderGateLine,
  renderGeneratorHealth,
  renderLoadHeader,
  renderLoadResult,
  renderLossAttribution,
  renderProgressLine,
  renderThresholds,
} from '../../harness/reporters/load-console.js';
import {
  renderIntervalLine,
  renderLoadJson,
  renderResultLine,
  type LoadReportJson,
} from '../../harness/reporters/load-json.js';
import { sampleCounters, sampleLatency, sampleOptions } from '../helpers/load-sample.js';

const counters = sampleCounters;

const interval: IntervalStats = {
  atMs: 1000,
  sent: 10_000,
  received: 9_880,
  lost: 120,
  echoRate: 9_880,
  p50Us: 70,
  p99Us: 250,
  maxUs: 1200,
};

/** A synthetic result: 120 lost, all dropped by the generator's own sockets, which were the bottleneck. */
function result(extra: Partial<LoadResult> = {}): LoadResult {
  return {
    runId: '20260101T000000Z-abcd',
    target: { input: '', address: '127.0.0.1', port: 40_000, embedded: true },
    mode: 'rate',
    options: sampleOptions(),
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1000,
    counters: counters(),
    perFlow: [],
    rates: { offered: 10_000, echoes: 9_880, sent: 10_000 },
    response: sampleLatency(100),
    service: sampleLatency(70),
    sendLag: sampleLatency(5),
    jitterUs: 12,
    intervals: [interval],
    generator: {
      socketDrops: 120,
      rcvbufErrors: 120,
      sndbufErrors: 0,
      bottleneck: true,
      reasons: ['its sockets dropped 120 datagrams'],
    },
    lossAttribution: { generator: 120, networkOrServer: 0 },
    ioPath: 'dgram',
    ...extra,
  };
}

const plain = { color: false } as const;
const ESC = '\u001b[';

describe('load renderers', () => {
  it('calls the generator CPU-bound from SATURATED_ELU of event-loop utilisation on, never in ping-pong', () => {
    expect(saturationReason('rate', SATURATED_ELU - 0.01, 0.2, 1)).to.equal(undefined);
    expect(saturationReason('rate', 0.97, 0.2, 1)).to.equal(
      "the generator's event loop was saturated: utilisation 97% not counting the pacer's polling (20%) (CPU-bound)",
    );
    expect(saturationReason('flood', 1, 0, 2)).to.equal(
      "the generator's event loop (busiest worker) was saturated: utilisation 100% (CPU-bound)",
    );
    expect(saturationReason('ping-pong', 1, 0, 1)).to.equal(undefined);
    expect(saturationReason('flood', 0.99, 0, 1, 'data-plane thread')).to.equal(
      "the generator's data-plane thread was saturated: utilisation 99% (CPU-bound)",
    );
  });

  describe('console', () => {
    it('formats latencies in a readable unit', () => {
      expect(formatLatency(0.25)).to.equal('250 ns');
      expect(formatLatency(7.25)).to.equal('7.3 us');
      expect(formatLatency(70)).to.equal('70 us');
      expect(formatLatency(2500)).to.equal('2.50 ms');
      expect(formatLatency(25_000)).to.equal('25.0 ms');
      expect(formatLatency(1_500_000)).to.equal('1.50 s');
      expect(formatLatency(NaN)).to.equal('-');
    });

    it('blames the generator, not the server, for drops in its own sockets', () => {
      expect(renderLossAttribution(result())).to.equal(
        "lost 120, 1.20% of sent (generator's own sockets dropped 120: not the server's)",
      );
      const mixed = result({ lossAttribution: { generator: 20, networkOrServer: 100 } });
      expect(renderLossAttribution(mixed)).to.equal(
        "lost 120, 1.20% of sent (generator's own sockets dropped 20: not the server's; 100 lost in the network or by the server)",
      );
      const clean = result({
        counters: counters({ lost: 0 }),
        lossAttribution: { generator: 0, networkOrServer: 0 },
      });
      expect(renderLossAttribution(clean)).to.equal('lost 0');
    });

    it("attributes drops only to the run's replies when foreign datagrams filled the buffers", () => {
      const c = (over: Partial<LoadCounters>): LoadCounters => counters({ lost: 1000, sent: 1000, ...over });
      // No foreign datagram: every drop may be a reply, up to what was lost.
      expect(attributeLoss(c({ received: 0, foreign: 0 }), 50_000)).to.deep.equal({
        generator: 1000,
        networkOrServer: 0,
      });
      // Only foreign datagrams arrived: none of the drops is the generator's loss.
      const storm = attributeLoss(c({ received: 0, foreign: 12_000 }), 50_000);
      expect(storm).to.deep.equal({
        generator: 0,
        networkOrServer: 1000,
        note: "the generator's sockets dropped 50,000 datagrams while 12,000 foreign datagrams arrived: the buffers were filled by traffic that was not the run's replies; loss is not attributed to the generator",
      });
      expect(
        renderLossAttribution(result({ counters: c({ foreign: 12_000 }), lossAttribution: storm })),
      ).to.equal(
        `lost 1,000, 100.00% of sent (1,000 lost in the network or by the server; ${storm.note ?? ''})`,
      );
      // Replies and foreign datagrams alike: the replies' share of the drops (a quarter here).
      expect(attributeLoss(c({ lost: 600, received: 400, foreign: 1200 }), 800)).to.deep.equal({
        generator: 200,
        networkOrServer: 400,
        note: "the generator's sockets dropped 800 datagrams while 1,200 foreign datagrams arrived beside 400 of the run's replies: only the replies' share of the drops, 200, is attributed to the generator",
      });
    });

    it('says when the generator was the bottleneck and claims no server capacity', () => {
      expect(renderGeneratorHealth(result(), plain)).to.equal(
        'the generator was the bottleneck (its sockets dropped 120 datagrams): no server capacity is claimed',
      );
      const healthy = result({
        generator: { socketDrops: 0, rcvbufErrors: 0, sndbufErrors: 0, bottleneck: false, reasons: [] },
      });
      expect(renderGeneratorHealth(healthy, plain)).to.match(
        /^generator healthy: socket drops 0, .*send lag p99 20 us$/,
      );
      expect(renderLoadResult(healthy, [], plain)).to.not.include('bottleneck');
    });

    it('renders the full report: latency table, rates, counters, attribution, health, thresholds, run id and report path', () => {
      const r = result();
      const outcomes = evaluateThresholds(r, parseThresholds(['p99<2ms', 'loss<0.1%']));
      const text = renderLoadResult(r, outcomes, plain, { loadJson: 'reports/x/load.json' });
      const lines = text.split('\n');
      const header = lines.find((l) => l.startsWith('latency'));
      expect(header).to.match(/^latency\s+min\s+p50\s+p90\s+p99\s+p99\.9\s+p99\.99\s+max\s+mean\s+stdev$/);
      expect(lines.find((l) => l.startsWith('response'))).to.match(
        /^response\s+50 us\s+100 us\s+200 us\s+400 us\s+800 us\s+1\.60 ms\s+3\.20 ms\s+120 us\s+33 us$/,
      );
      expect(lines.find((l) => l.startsWith('service '))).to.match(/^service\s+35 us\s+70 us/);
      expect(text).to.match(/offered\/s\s+achieved echoes\/s \(generator-bound\)\s+sent\/s/);
      expect(text).to.match(/\n\s+10,000\s+9,880\s+10,000\n/);
      expect(text).to.match(/counters\s+sent\s+received\s+unique\s+lost/);
      expect(text).to.include(
        "lost 120, 1.20% of sent (generator's own sockets dropped 120: not the server's)",
      );
      expect(text).to.include('no server capacity is claimed');
      expect(text).to.match(/\[ok\]\s+p99<2ms\s+actual 400 us/);
      expect(text).to.match(/\[FAIL\] loss<0\.1%\s+actual 1\.20%/);
      expect(text).to.include('run 20260101T000000Z-abcd, report reports/x/load.json');
      // A breached threshold fails the run even when the generator was the bottleneck.
      expect(text).to.match(/^FAILED: 1 of 2 thresholds hold; the generator was the bottleneck/m);
    });

    it('says INCONCLUSIVE, not PASSED, when the thresholds hold but the generator was the bottleneck', () => {
      const r = result();
      expect(r.generator.bottleneck).to.equal(true);
      const text = renderLoadResult(r, evaluateThresholds(r, parseThresholds(['p99<2ms'])), plain);
      expect(text).to.match(
        /^INCONCLUSIVE: 1 of 1 threshold hold; the generator was the bottleneck: no server capacity is claimed$/m,
      );
      expect(text).to.not.match(/^PASSED/m);
      const healthy = result({ generator: { ...r.generator, bottleneck: false, reasons: [] } });
      expect(renderLoadResult(healthy, [], plain)).to.match(/^PASSED: no thresholds given$/m);
      expect(loadOutcome({ passed: false, generator: { bottleneck: false } })).to.equal('FAILED');
      expect(loadOutcome({ passed: true, generator: { bottleneck: true }, interrupted: 'SIGINT' })).to.equal(
        'INTERRUPTED',
      );
    });

    it('gives a gate breach its unit', () => {
      const line = renderGateLine(
        {
          title: 'g',
          file: 'f',
          passed: false,
          durationMs: 1,
          thresholds: [
            { threshold: 'p99<2ms', kind: 'latency', actual: 45215, ok: false },
            { threshold: 'loss<=0', kind: 'count', actual: 1, ok: false },
            { threshold: 'rate>1k', kind: 'rate', actual: null, ok: false },
          ],
        },
        plain,
      );
      expect(line).to.include('breached p99<2ms, actual 45.2 ms');
      expect(line).to.include('breached loss<=0, actual 1 datagram\n');
      expect(line).to.include('breached rate>1k, actual -');
    });

    it('uses no colour, no box rules and no Unicode marks without a TTY, and both with one', () => {
      const r = result();
      const outcomes = evaluateThresholds(r, parseThresholds(['p99<2ms', 'loss<=0']));
      const text = renderLoadResult(r, outcomes, plain);
      expect(text).to.not.include(ESC);
      expect(/^[\x20-\x7e\n]*$/.test(text), 'plain ASCII').to.equal(true);
      const tty = renderLoadResult(r, outcomes, { color: true });
      expect(tty).to.include(ESC);
      expect(tty).to.include('✓').and.to.include('✗');
      expect(renderThresholds([], plain)).to.deep.equal([]);
    });

    it('shows dashes instead of numbers when nothing was answered', () => {
      const silent = result({
        counters: counters({ received: 0, unique: 0, lost: 10_000 }),
        response: sampleLatency(0, { count: 0 }),
        service: sampleLatency(0, { count: 0 }),
      });
      const outcomes = evaluateThresholds(silent, parseThresholds(['p99<2ms']));
      const text = renderLoadResult(silent, outcomes, plain);
      expect(text).to.match(/^response\s+-\s+-\s+-/m);
      expect(text).to.match(/\[FAIL\] p99<2ms\s+actual no replies/);
    });

    it('describes the run in a header line and a progress line', () => {
      expect(renderLoadHeader(result())).to.equal(
        'echolot load: rate mode against the embedded reference server at 127.0.0.1:40000, 4 flows, 64 B, offered 10,000/s (constant), 1.0 s, i/o dgram\n',
      );
      const line = renderProgressLine(interval);
      expect(line).to.match(
        /1\.0 s\s+9,880 echoes\/s\s+sent 10,000\s+lost 120\s+p50 70 us\s+p99 250 us\s+max 1\.20 ms/,
      );
      expect(line).to.not.include('\n');
    });
  });

  describe('json', () => {
    it('renders the result with thresholds (NaN as null) and the pass flag', () => {
      const r = result({ response: sampleLatency(0, { count: 0 }) });
      const outcomes = evaluateThresholds(r, parseThresholds(['p99<2ms', 'loss<=120']));
      const doc = JSON.parse(renderLoadJson(r, outcomes)) as LoadReportJson;
      expect(doc.runId).to.equal(r.runId);
      expect(doc.counters).to.deep.equal(r.counters);
      expect(doc.passed).to.equal(false);
      expect(doc.thresholds).to.deep.equal([
        {
          threshold: 'p99<2ms',
          metric: 'p99',
          scope: 'response',
          kind: 'latency',
          limit: 2000,
          actual: null,
          ok: false,
        },
        { threshold: 'loss<=120', metric: 'loss', kind: 'count', limit: 120, actual: 120, ok: true },
      ]);
    });

    it('renders NDJSON: one line per interval, then one result line', () => {
      const r = result();
      const lines = (renderIntervalLine(interval) + renderResultLine(r, [])).split('\n');
      expect(lines.pop()).to.equal('');
      expect(lines).to.have.length(2);
      const [first, last] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(first).to.deep.equal({ type: 'interval', ...interval });
      expect(last).to.include({ type: 'result', runId: r.runId, passed: true });
    });
  });
});
