import { expect } from 'chai';
import { runRssSoak } from '../../harness/load/rss-soak.js';

// The full check is `npm run soak:load` (60 s, flatness judged); this short variant bounds RSS only.
describe('load: generator RSS under a short flood (5 s) [io]', function () {
  this.timeout(30_000);

  it('stays below 300 MB while flooding the embedded reference server', async () => {
    const r = await runRssSoak({ durationS: 5 });
    expect(r.samples.length).to.be.at.least(5);
    expect(r.load.counters.sent).to.be.above(1000);
    expect(r.earlyMeanMb).to.equal(null);
    expect(r.maxMb, JSON.stringify(r.samples)).to.be.below(300);
    expect(r.ok, r.reasons.join('; ')).to.equal(true);
  });
});
