import { expect } from 'chai';
import hdr from 'hdr-histogram-js';
import { HIGHEST_TRACKABLE_US, LatencyRecorder } from '../../harness/load/latency.js';
import { nativeIo } from '../../harness/net/native-io.js';
import { skipBecause } from '../helpers/skip.js';

/** Latencies in us of every kind the recorder meets: fractions, exact halves, bucket edges, negatives, beyond 60 s. */
function values(): number[] {
  let x = 12345;
  const random = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
  const out: number[] = [0, -3, 0.5, 1.5, 2.4999, HIGHEST_TRACKABLE_US, HIGHEST_TRACKABLE_US + 1, 9e9];
  for (let k = 0; k < 27; k++) out.push(2 ** k - 0.5, 2 ** k, 2 ** k + 0.5, 2 ** k + 1);
  for (let i = 0; i < 20_000; i++) {
    const r = random();
    if (r < 0.5) out.push(random() * 2000);
    else if (r < 0.9) out.push(Math.exp(random() * Math.log(7e7)));
    else out.push(Math.floor(random() * 100_000) + 0.5);
  }
  return out;
}

const PERCENTILES = [0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100];

describe('latency histograms counted in C (native/tally.c)', () => {
  for (const digits of [2, 3] as const) {
    it(`copied into hdr-histogram-js, equal a histogram fed the same values (${digits} digits)`, function () {
      const native = nativeIo();
      if (native === undefined) skipBecause(this, 'the native I/O module is not in use');
      const all = values();
      const js = new LatencyRecorder(digits);
      for (const v of all) js.record(v);
      const c = native.latencyCounts(digits, Float64Array.from(all));
      const fromC = new LatencyRecorder(digits);
      fromC.addCounts(c, 5, (c.length - 5) / 2);
      fromC.setMoments(c[0] as number, c[1] as number, c[2] as number, c[3] as number, c[4] as number);
      // Same counts and moments, so the same compressed histogram and summary.
      expect(fromC.toWire()).to.deep.equal(js.toWire());
      expect(fromC.summary()).to.deep.equal(js.summary());
      // And the same as hdr-histogram-js recording the rounded, clamped values itself.
      const direct = hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: HIGHEST_TRACKABLE_US,
        numberOfSignificantValueDigits: digits,
        autoResize: false,
      });
      for (const v of all) direct.recordValue(Math.round(Math.min(HIGHEST_TRACKABLE_US, Math.max(0, v))));
      expect(fromC.count).to.equal(direct.totalCount);
      for (const p of PERCENTILES)
        expect(fromC.percentile(p), `p${p}`).to.equal(direct.getValueAtPercentile(p));
      direct.destroy();
    });
  }
});
