import { expect } from 'chai';
import { parseShardOptions, parseStartAtOption } from '../../harness/cli/load-command.js';
import { HarnessError } from '../../harness/errors.js';
import { sendProbesScheduleForTest } from '../helpers/shard-schedule.js';
import {
  planShard,
  shardFlows,
  shardPhaseNs,
  shardRunProblems,
  shardSeed,
  totalShardFlows,
} from '../../harness/load/shard.js';
import { seededRandom } from '../../harness/load/seeded-random.js';

/** The usage error `fn` throws (fails when it throws none, or another error). */
function usageError(fn: () => unknown): HarnessError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(HarnessError);
    expect((err as HarnessError).exitCode).to.equal(64);
    return err as HarnessError;
  }
  expect.fail('expected a usage error');
}

describe('shards of a distributed load run: the split', () => {
  it('splits the flows as evenly as they go, at least one each', () => {
    expect([0, 1, 2].map((i) => shardFlows(8, i, 3))).to.deep.equal([3, 3, 2]);
    expect([0, 1, 2, 3].map((i) => shardFlows(4, i, 4))).to.deep.equal([1, 1, 1, 1]);
    expect([0, 1, 2].map((i) => shardFlows(2, i, 3))).to.deep.equal([1, 1, 1]);
    for (const [flows, n] of [
      [8, 3],
      [4, 4],
      [2, 3],
      [1024, 7],
    ] as const) {
      const sum = Array.from({ length: n }, (_, i) => shardFlows(flows, i, n)).reduce((a, b) => a + b, 0);
      expect(sum, `${flows} flows over ${n}`).to.equal(totalShardFlows(flows, n));
    }
  });

  it('gives each shard 1/N of the rate, its phase, and the whole rate to the safety cap', () => {
    const p = planShard({ target: '127.0.0.1:7', rate: 3000, flows: 8 }, { index: 2, count: 3 }, 'r1');
    expect(p.options.rate).to.equal(1000);
    expect(p.options.flows).to.equal(2);
    expect(p.internals.phaseNs).to.be.closeTo((2 * 1e9) / 3000, 1e-6);
    expect(p.internals.safetyRate).to.equal(3000);
    expect(p.internals.seed).to.equal(undefined);
    const poisson = planShard({ rate: 3000, arrival: 'poisson' }, { index: 1, count: 3 }, 'r1');
    expect(poisson.internals.phaseNs).to.equal(undefined);
    expect(poisson.internals.seed).to.equal(shardSeed('r1', 1));
    const flood = planShard({ mode: 'flood', flows: 4 }, { index: 0, count: 2 }, 'r1');
    expect(flood.options.rate).to.equal(undefined);
    expect(flood.options.flows).to.equal(2);
  });

  it('merges the constant schedules of N shards (and their worker threads) into the plan: t0 + i/rate', () => {
    const rate = 3000;
    const t0 = 1e9;
    for (const [n, workers] of [
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 3],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const plan = planShard({ rate }, { index: i, count: n }, 'run');
        for (let w = 0; w < workers; w++) {
          times.push(
            ...sendProbesScheduleForTest(plan, { index: w, shares: workers }, t0, 600 / (n * workers)),
          );
        }
      }
      times.sort((a, b) => a - b);
      expect(times.length).to.equal(600);
      times.forEach((t, i) =>
        expect(t, `${n} shards x ${workers} workers, slot ${i}`).to.be.closeTo(t0 + (i * 1e9) / rate, 1e-3),
      );
    }
    expect(shardPhaseNs(1000, 3)).to.equal(3e6);
  });

  it('keeps Poisson arrivals Poisson: each shard at rate/N from its own reproducible seed', () => {
    const rate = 2000;
    const n = 2;
    const gaps = (index: number): number[] => {
      const plan = planShard({ rate, arrival: 'poisson' }, { index, count: n }, 'run-p');
      const t = sendProbesScheduleForTest(plan, { index: 0, shares: 1 }, 0, 20_001);
      return t.slice(1).map((x, i) => x - (t[i] as number));
    };
    const a = gaps(0);
    const b = gaps(1);
    expect(gaps(0)).to.deep.equal(a); // reproducible from the run id and index
    expect(a.slice(0, 10)).to.not.deep.equal(b.slice(0, 10)); // independent shards
    const mean = a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean / ((n * 1e9) / rate)).to.be.within(0.97, 1.03); // rate/N per shard
    // Exponential gaps: the standard deviation equals the mean.
    const sd = Math.sqrt(a.reduce((x, y) => x + (y - mean) ** 2, 0) / a.length);
    expect(sd / mean).to.be.within(0.95, 1.05);
  });

  it('draws uniform numbers in [0, 1) from a seed', () => {
    const r = seededRandom('x');
    const xs = Array.from({ length: 10_000 }, r);
    expect(Math.min(...xs)).to.be.at.least(0);
    expect(Math.max(...xs)).to.be.below(1);
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).to.be.within(0.48, 0.52);
    expect(seededRandom('y')()).to.not.equal(seededRandom('x')());
  });
});

describe('shards of a distributed load run: the command line', () => {
  it('takes --shard I/N, and --shards N with JOB_COMPLETION_INDEX as Kubernetes sets it', () => {
    expect(parseShardOptions('1/4', undefined)).to.deep.equal({ index: 1, count: 4 });
    expect(parseShardOptions(undefined, '4', { JOB_COMPLETION_INDEX: '3' })).to.deep.equal({
      index: 3,
      count: 4,
    });
    expect(parseShardOptions(undefined, undefined)).to.equal(undefined);
    expect(usageError(() => parseShardOptions(undefined, '4', {})).message).to.equal(
      '--shards 4: the environment variable JOB_COMPLETION_INDEX is not set (a Kubernetes Indexed Job sets it; elsewhere use --shard I/4)',
    );
    expect(
      usageError(() => parseShardOptions(undefined, '4', { JOB_COMPLETION_INDEX: 'x' })).message,
    ).to.equal('--shards 4: JOB_COMPLETION_INDEX "x" must be an integer in 0..3');
    expect(
      usageError(() => parseShardOptions(undefined, '2', { JOB_COMPLETION_INDEX: '2' })).message,
    ).to.match(/JOB_COMPLETION_INDEX "2" must be an integer in 0\.\.1/);
    expect(usageError(() => parseShardOptions('2/2', undefined)).message).to.match(
      /^--shard 2\/2: the index must be below/,
    );
    expect(usageError(() => parseShardOptions('a', undefined)).message).to.match(/^--shard a: must be I\/N/);
    expect(usageError(() => parseShardOptions('0/2', '2')).message).to.match(/choose one/);
  });

  it('takes --start-at as ISO 8601 with a zone or epoch ms, and refuses a time long past or too far ahead', () => {
    expect(parseStartAtOption('2026-12-06T10:00:00Z')).to.equal(Date.UTC(2026, 11, 6, 10));
    expect(parseStartAtOption('2026-12-06T11:00+01:00')).to.equal(Date.UTC(2026, 11, 6, 10));
    expect(parseStartAtOption('1765015200000')).to.equal(1765015200000);
    expect(usageError(() => parseStartAtOption('2026-12-06 10:00')).message).to.match(
      /^--start-at 2026-12-06 10:00: must be an ISO 8601 time with a zone/,
    );
    const now = Date.UTC(2026, 11, 6, 10);
    const opts = { durationMs: 10_000, warmupMs: 0 };
    expect(shardRunProblems({ startAtEpochMs: now - 5000 }, opts, now)).to.deep.equal([]);
    expect(shardRunProblems({ startAtEpochMs: now - 11_000 }, opts, now)[0]?.path).to.equal('startAtEpochMs');
    expect(shardRunProblems({ startAtEpochMs: now + 25 * 3_600_000 }, opts, now)[0]?.message).to.match(
      /at most 24 h ahead/,
    );
    expect(shardRunProblems({ runId: '../x' }, opts, now)[0]?.path).to.equal('runId');
    expect(shardRunProblems({ runId: 'nightly-42.a_b' }, opts, now)).to.deep.equal([]);
  });
});
