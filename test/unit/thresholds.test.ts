import { expect } from 'chai';
import { HarnessError } from '../../harness/errors.js';
import {
  evaluateThresholds,
  parseThreshold,
  parseThresholds,
  thresholdsPassed,
  type Threshold,
} from '../../harness/load/thresholds.js';
import type { LoadCounters, LoadResult } from '../../harness/load/types.js';
import { sampleLatency, sampleOptions } from '../helpers/load-sample.js';

const counters = (extra: Partial<LoadCounters> = {}): LoadCounters => ({
  sent: 10_000,
  received: 9_990,
  unique: 9_990,
  lost: 10,
  late: 0,
  duplicates: 0,
  reordered: 50,
  reorderExtentMax: 3,
  corrupted: 0,
  truncated: 0,
  foreign: 0,
  icmpErrors: 0,
  ...extra,
});

/** A synthetic result: 10 000 sent, 10 lost (0.1%), 50 reordered, response p50 100 us, service p50 70 us. */
function result(extra: Partial<LoadResult> = {}): LoadResult {
  return {
    runId: 'test-run',
    target: { input: '127.0.0.1:7', address: '127.0.0.1', port: 7, embedded: false },
    mode: 'rate',
    options: sampleOptions(),
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1000,
    counters: counters(),
    perFlow: [],
    rates: { offered: 10_000, echoes: 9_990, sent: 10_000 },
    response: sampleLatency(100),
    service: sampleLatency(70),
    sendLag: sampleLatency(5),
    jitterUs: 12,
    intervals: [],
    generator: { socketDrops: 0, rcvbufErrors: 0, sndbufErrors: 0, bottleneck: false, reasons: [] },
    lossAttribution: { generator: 0, networkOrServer: 10 },
    ioPath: 'dgram',
    ...extra,
  };
}

const usageError = (expr: string): HarnessError => {
  try {
    parseThreshold(expr);
  } catch (err) {
    expect(err).to.be.instanceOf(HarnessError);
    return err as HarnessError;
  }
  throw new Error(`'${expr}' parsed`);
};

const one = (expr: string, r: LoadResult = result()): { actual: number; ok: boolean } => {
  const [o] = evaluateThresholds(r, [parseThreshold(expr)]);
  if (!o) throw new Error('no outcome');
  return { actual: o.actual, ok: o.ok };
};

describe('load thresholds', () => {
  describe('grammar', () => {
    it('parses latency thresholds into microseconds on the headline response time by default', () => {
      const cases: [string, Partial<Threshold>][] = [
        ['p50<2ms', { kind: 'latency', metric: 'p50', scope: 'response', op: '<', limit: 2000 }],
        ['p99<=500us', { metric: 'p99', op: '<=', limit: 500 }],
        ['p99<=500µs', { metric: 'p99', limit: 500 }],
        ['p99.9<1s', { metric: 'p99.9', limit: 1_000_000 }],
        ['p99.99 < 250ns', { metric: 'p99.99', limit: 0.25 }],
        ['max<10ms', { metric: 'max', limit: 10_000 }],
        ['mean<1.5ms', { metric: 'mean', limit: 1500 }],
        ['service.p99<1ms', { metric: 'p99', scope: 'service', limit: 1000 }],
        ['lag.p99<100us', { metric: 'p99', scope: 'lag', limit: 100 }],
        ['jitter<50us', { metric: 'jitter', kind: 'latency', limit: 50 }],
      ];
      for (const [expr, want] of cases) expect(parseThreshold(expr), expr).to.include(want);
      expect(parseThreshold('jitter<50us')).to.not.have.property('scope');
    });

    it('parses counters as percentages of sent or as absolute counts, and rates per second', () => {
      expect(parseThreshold('loss<0.1%')).to.include({ kind: 'ratio', metric: 'loss', op: '<', limit: 0.1 });
      expect(parseThreshold('loss<=0')).to.include({ kind: 'count', metric: 'loss', op: '<=', limit: 0 });
      expect(parseThreshold('duplicates==0')).to.include({ kind: 'count', op: '==', limit: 0 });
      expect(parseThreshold('corrupted==0')).to.include({ kind: 'count', metric: 'corrupted' });
      expect(parseThreshold('reordered<1%')).to.include({ kind: 'ratio', metric: 'reordered', limit: 1 });
      expect(parseThreshold('rate>=50000')).to.include({ kind: 'rate', op: '>=', limit: 50_000 });
      expect(parseThreshold('rate>=50k')).to.include({ limit: 50_000 });
      expect(parseThreshold('rate>1.5M/s')).to.include({ op: '>', limit: 1_500_000 });
      expect(parseThreshold('sent-rate>=9k')).to.include({ kind: 'rate', metric: 'sent-rate' });
    });

    it('keeps the expression as written for reports', () => {
      expect(parseThreshold('  p99 < 2ms ').source).to.equal('p99 < 2ms');
    });

    it('rejects malformed expressions with a one-line usage error naming the threshold, the rule and the value', () => {
      const cases: [string, RegExp][] = [
        ['p99<<2', /^threshold p99<<2: value '<2' is not a number/],
        ['p99', /^threshold p99: must be METRIC OP VALUE/],
        ['p99=2ms', /must be METRIC OP VALUE/],
        ['p42<2ms', /unknown metric 'p42'/],
        ['p99<2', /latency '2' needs a unit: ns, us, ms or s/],
        ['p99<2parsecs', /latency '2parsecs' needs a unit/],
        ['loss<150%', /percentage '150%' must be in 0\.\.100%/],
        ['loss<2ms', /loss takes a count .* or a percentage of sent/],
        ['rate>=fast', /value 'fast' is not a number/],
        ['rate>=5x', /rate takes datagrams per second/],
        ['service.loss<1%', /scope 'service\.' applies to latency metrics only/],
        ['service.jitter<1ms', /jitter takes no scope/],
      ];
      for (const [expr, message] of cases) {
        const err = usageError(expr);
        expect(err.code, expr).to.equal('ERR_ECHOLOT_USAGE');
        expect(err.exitCode).to.equal(64);
        expect(err.message, expr).to.match(message);
        expect(err.message.split('\n'), expr).to.have.length(1);
      }
    });

    it('parseThresholds lists every bad expression, each with its place in the list', () => {
      expect(() => parseThresholds(['p99<2ms', 'bogus<1'])).to.throw(HarnessError, /unknown metric 'bogus'/);
      let caught: unknown;
      try {
        parseThresholds(['p99<2', 'p99<2ms', 'bogus<1']);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(HarnessError);
      expect((caught as HarnessError).problems?.map((p) => [p.path, p.value])).to.deep.equal([
        ['thresholds[0]', 'p99<2'],
        ['thresholds[2]', 'bogus<1'],
      ]);
      expect((caught as HarnessError).message).to.match(/^thresholds\[0\] p99<2: latency '2' needs a unit/);
      expect(parseThresholds([])).to.deep.equal([]);
    });
  });

  describe('evaluation', () => {
    it('compares latency in microseconds against the right distribution', () => {
      expect(one('p50<2ms')).to.deep.equal({ actual: 100, ok: true });
      expect(one('p50<100us')).to.deep.equal({ actual: 100, ok: false });
      expect(one('p50<=100us')).to.deep.equal({ actual: 100, ok: true });
      expect(one('p50<1ns').ok).to.equal(false);
      expect(one('p99.9<1ms').actual).to.equal(800);
      expect(one('p99.99<1ms').actual).to.equal(1600);
      expect(one('service.p50<100us')).to.deep.equal({ actual: 70, ok: true });
      expect(one('lag.max<1ms').actual).to.equal(160);
      expect(one('max>3ms')).to.deep.equal({ actual: 3200, ok: true });
      expect(one('jitter<=12us')).to.deep.equal({ actual: 12, ok: true });
    });

    it('computes ratios as percent of sent and counts as they are', () => {
      expect(one('loss<0.1%')).to.deep.equal({ actual: 0.1, ok: false });
      expect(one('loss<=0.1%')).to.deep.equal({ actual: 0.1, ok: true });
      expect(one('loss<=0')).to.deep.equal({ actual: 10, ok: false });
      expect(one('reordered<1%')).to.deep.equal({ actual: 0.5, ok: true });
      expect(one('duplicates==0')).to.deep.equal({ actual: 0, ok: true });
      expect(one('corrupted==0', result({ counters: counters({ corrupted: 2 }) }))).to.deep.equal({
        actual: 2,
        ok: false,
      });
    });

    it('reads the achieved echo rate for rate and the send rate for sent-rate', () => {
      expect(one('rate>=50000')).to.deep.equal({ actual: 9_990, ok: false });
      expect(one('rate>=9k')).to.deep.equal({ actual: 9_990, ok: true });
      expect(one('sent-rate>=10k')).to.deep.equal({ actual: 10_000, ok: true });
    });

    it('fails latency and ratio thresholds when there is nothing to judge (no replies, nothing sent)', () => {
      const silent = result({
        counters: counters({ received: 0, unique: 0, lost: 10_000, reordered: 0 }),
        response: sampleLatency(0, { count: 0 }),
        service: sampleLatency(0, { count: 0 }),
      });
      expect(Number.isNaN(one('p99<2ms', silent).actual)).to.equal(true);
      expect(one('p99<2ms', silent).ok).to.equal(false);
      expect(one('jitter<1ms', silent).ok).to.equal(false);
      const idle = result({ counters: counters({ sent: 0, received: 0, unique: 0, lost: 0, reordered: 0 }) });
      expect(one('loss<1%', idle).ok).to.equal(false);
      expect(one('loss==0', idle).ok).to.equal(true);
    });

    it('is pure, keeps the order, and passes only when every threshold holds', () => {
      const r = result();
      const before = JSON.stringify(r);
      const outcomes = evaluateThresholds(r, parseThresholds(['p50<2ms', 'loss<=0', 'rate>1']));
      expect(JSON.stringify(r)).to.equal(before);
      expect(outcomes.map((o) => [o.threshold.source, o.ok])).to.deep.equal([
        ['p50<2ms', true],
        ['loss<=0', false],
        ['rate>1', true],
      ]);
      expect(thresholdsPassed(outcomes)).to.equal(false);
      expect(thresholdsPassed(outcomes.filter((o) => o.ok))).to.equal(true);
      expect(thresholdsPassed([])).to.equal(true);
    });
  });
});
