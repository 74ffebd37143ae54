import { expect } from 'chai';
import { largestEchoed, type SizeProbe } from '../../harness/probes/binary-search.js';

/** A probe for a server that echoes sizes up to `limit` and truncates the rest. */
const upTo =
  (limit: number) =>
  (size: number): Promise<SizeProbe> =>
    Promise.resolve({
      size,
      echoed: size <= limit,
      detail: size <= limit ? 'identical' : 'truncated',
      attempts: 1,
    });

describe('largestEchoed', () => {
  it('finds the limit of a truncating server within 18 probes', async () => {
    for (const limit of [0, 1, 511, 1024, 1472, 65506]) {
      const found = await largestEchoed(65507, upTo(limit));
      expect(found.largest, `limit ${limit}`).to.equal(limit);
      expect(found.firstNotEchoed?.size, `limit ${limit}`).to.equal(limit + 1);
      expect(found.probes.length, `limit ${limit}`).to.be.at.most(18);
    }
  });

  it('needs one probe when the maximum comes back', async () => {
    const found = await largestEchoed(65507, upTo(65507));
    expect(found.largest).to.equal(65507);
    expect(found.probes.map((p) => p.size)).to.deep.equal([65507]);
  });

  it('reports undefined when not even 0 bytes come back', async () => {
    const found = await largestEchoed(65507, upTo(-1));
    expect(found.largest).to.equal(undefined);
    expect(found.firstNotEchoed?.size).to.equal(0);
  });
});
