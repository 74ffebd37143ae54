import { expect } from 'chai';
import { comparePayloads, hexAround, sha256 } from '../../harness/results/evidence.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('comparePayloads', () => {
  it('reports identical payloads as equal with matching hashes', () => {
    const c = comparePayloads(hex('00 01 02 ff'), hex('00 01 02 ff'));
    expect(c.equal).to.equal(true);
    expect(c.summary).to.equal('identical (4 bytes)');
    expect(c.sentSha256)
      .to.equal(c.receivedSha256)
      .and.to.equal(sha256(hex('00 01 02 ff')));
  });

  it('names a truncation by its length', () => {
    const c = comparePayloads(Buffer.alloc(1025, 0x41), Buffer.alloc(1024, 0x41));
    expect(c.equal).to.equal(false);
    expect(c.summary).to.equal('truncated to 1024 bytes (sent 1025)');
    expect(c.firstDiffOffset).to.equal(1024);
  });

  it('names a longer reply', () => {
    const c = comparePayloads(hex('6162'), hex('6162 0d0a'));
    expect(c.summary).to.equal('2 bytes longer than sent (sent 2, received 4)');
  });

  it('shows the first differing offset and the hex around it', () => {
    const c = comparePayloads(hex('00 01 02 03 04'), hex('00 01 ff 03 04'));
    expect(c.summary).to.equal('differs at offset 2: sent 0x02, received 0xff (lengths 5/5)');
    expect(c.sentHex).to.equal('@0: 00 01 02 03 04');
    expect(c.receivedHex).to.equal('@0: 00 01 ff 03 04');
  });

  it('limits the hex to 16 bytes either side', () => {
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    expect(hexAround(data, 50)).to.equal(
      `@34: ${Array.from({ length: 32 }, (_, i) => (34 + i).toString(16).padStart(2, '0')).join(' ')} ...`,
    );
  });
});
