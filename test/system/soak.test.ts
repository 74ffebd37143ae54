import { expect } from 'chai';
import { FULL_SOAK, renderSoakReport, runSoak } from '../soak/soak.js';

describe('reference server soak (short; the full one is npm run soak) [io]', function () {
  this.timeout(60_000);

  it('survives 12 s of floods, ICMP storms, max-size bursts and port churn with flat RSS and descriptors', async () => {
    const report = await runSoak({
      ...FULL_SOAK,
      durationMs: 12_000,
      steadyRate: 200,
      sampleMs: 500,
      burstEveryMs: 2000,
    });
    const text = renderSoakReport(report);
    expect(report.problems, text).to.deep.equal([]);
    expect(report.distinctSourcePorts, text).to.be.above(500);
    expect(report.icmpSockets, text).to.be.above(300);
    expect(report.flooderEchoed, text).to.be.below(report.flooderSent);
  });
});
