import { expect } from 'chai';
import { comparePayloads } from '../../harness/results/evidence.js';
import {
  asciiOf,
  dumpRows,
  hexComparisons,
  parseHexWindow,
  renderDumpLines,
} from '../../harness/reporters/hex-dump.js';

describe('hex dumps of payload comparisons', () => {
  it('reads the window of a comparison: start, bytes and whether more follow', () => {
    expect(parseHexWindow('@34: 22 23 ff ...')).to.deep.equal({
      start: 34,
      bytes: [0x22, 0x23, 0xff],
      more: true,
    });
    expect(parseHexWindow('@0: ')).to.deep.equal({ start: 0, bytes: [], more: false });
  });

  it('shows printable ASCII as it is and every other byte as a dot', () => {
    expect([0x1b, 0x20, 0x41, 0x5c, 0x7e, 0x7f, 0x80, 0xff, 0x00].map(asciiOf).join('')).to.equal(
      '. A\\~....',
    );
  });

  it('aligns sent and received on their offsets in rows of 16, marking every byte that differs', () => {
    const rows = dumpRows(parseHexWindow('@14: 00 01 02 03'), parseHexWindow('@14: 00 01 ff'));
    expect(rows.map((r) => r.offset)).to.deep.equal([14]);
    expect(rows[0]?.sent.map((b) => b.differs)).to.deep.equal([false, false, true, true]);
    expect(rows[0]?.received[3]).to.deep.equal({ differs: true });
  });

  it('renders labelled offsets, hex and an ASCII column that carries no control byte', () => {
    const sent = Buffer.from('echolot \u001b]0;pwned\u0007 <b>', 'latin1');
    const received = Buffer.from(sent);
    received[9] = 0x5d + 1;
    const [c] = hexComparisons({ exchange: { comparison: comparePayloads(sent, received) } });
    expect(c?.path).to.equal('exchange.comparison');
    const lines = renderDumpLines(c!, { text: (s) => s, mark: (s) => `[${s}]` });
    expect(lines[0]).to.match(/^offset {2}\s+\+0 \+1 \+2 .* \+f {2}ascii$/);
    expect(lines[1]).to.equal(
      '0 0x0000   sent      65 63 68 6f 6c 6f 74 20 1b [5d] 30 3b 70 77 6e 65  |echolot .[]]0;pwne|',
    );
    expect(lines[2]).to.equal(
      '           received  65 63 68 6f 6c 6f 74 20 1b [5e] 30 3b 70 77 6e 65  |echolot .[^]0;pwne|',
    );
    expect(lines[3]).to.match(/^16 0x0010 {2}sent {6}64 07 20 3c 62 3e {32}\|d\. <b> {10}\|$/);
    // eslint-disable-next-line no-control-regex
    expect(lines.join('\n')).to.not.match(/[\u0000-\u0009\u000b-\u001f\u007f-\u00ff]/);
  });

  it('draws nothing for a comparison without bytes', () => {
    expect(renderDumpLines({ path: 'x', summary: '', sentHex: '', receivedHex: '' })).to.deep.equal([]);
  });
});
