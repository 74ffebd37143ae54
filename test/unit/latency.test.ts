import { expect } from 'chai';
import { LatencyRecorder } from '../../harness/load/latency.js';

describe('latency recorder', () => {
  it('records a repeated value exactly as that many single records', () => {
    const one = new LatencyRecorder();
    const many = new LatencyRecorder();
    for (const v of [3, 250.4, 17, 9000]) {
      one.record(v);
      many.record(v);
    }
    for (let i = 0; i < 1000; i++) one.record(42);
    many.recordRepeated(42, 1000);
    many.recordRepeated(42, 0);
    expect(many.summary()).to.deep.equal(one.summary());
    expect(many.count).to.equal(1004);
    const merged = new LatencyRecorder();
    merged.addWire(many.toWire());
    expect(merged.summary()).to.deep.equal(one.summary());
  });

  it('clamps a repeated value like a single one (negative -> 0)', () => {
    const r = new LatencyRecorder();
    r.recordRepeated(-5, 3);
    expect(r.summary()).to.include({ count: 3, min: 0, max: 0, p50: 0, mean: 0 });
  });
});
