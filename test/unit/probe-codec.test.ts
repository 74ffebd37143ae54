import { expect } from 'chai';
import {
  PROBE_HEADER_BYTES,
  decodeProbe,
  encodeProbe,
  stampProbeTimes,
  type ProbeFields,
} from '../../harness/protocol/probe-codec.js';

const RUN = Buffer.from('0102030405060708', 'hex');
const FIELDS: ProbeFields = {
  runId: RUN,
  flow: 3,
  seq: 0x1_0000_0005,
  intendedNs: 1_234_567_890_123,
  actualNs: 1_234_567_890_579,
  length: 56,
};
// magic ECLT, version 1, reserved 0, flow 3, run id, seq, intended, actual, length 56, FNV-1a, 8 filler bytes.
const GOLDEN =
  '45434c54' +
  '01' +
  '00' +
  '0003' +
  '0102030405060708' +
  '0000000100000005' +
  '0000011f71fb04cb' +
  '0000011f71fb0693' +
  '00000038' +
  'a9d93463' +
  'fe08e11fa745714a';

/** An independent FNV-1a 32, to check the checksum field is what the layout says. */
function fnv(bytes: Buffer): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

function encoded(fields: ProbeFields = FIELDS): Buffer {
  const b = Buffer.alloc(fields.length);
  encodeProbe(b, fields);
  return b;
}

describe('probe codec', () => {
  it('has a 48-byte header', () => {
    expect(PROBE_HEADER_BYTES).to.equal(48);
  });

  it('encodes the documented layout (hex fixture)', () => {
    const b = encoded();
    expect(b.toString('hex')).to.equal(GOLDEN);
    expect(b.readUInt32BE(44)).to.equal(fnv(b.subarray(0, 44)));
  });

  it('encodes a header-only probe with the largest flow id (hex fixture)', () => {
    const b = encoded({
      runId: Buffer.from('a1a2a3a4a5a6a7a8', 'hex'),
      flow: 0xffff,
      seq: 0,
      intendedNs: 0,
      actualNs: 0,
      length: 48,
    });
    expect(b.toString('hex')).to.equal(
      '45434c540100ffffa1a2a3a4a5a6a7a8' + '00'.repeat(24) + '00000030' + 'd19ae736',
    );
  });

  it('decodes what it encodes, at every size class, and in place into a larger buffer', () => {
    for (const length of [48, 49, 50, 51, 52, 64, 1000, 1473, 65507]) {
      const big = Buffer.alloc(length + 16, 0xee);
      encodeProbe(big, { ...FIELDS, length });
      const d = decodeProbe(big.subarray(0, length), RUN);
      expect(d.kind, `length ${length}`).to.equal('probe');
      if (d.kind !== 'probe') continue;
      expect(d.flow).to.equal(3);
      expect(d.seq).to.equal(0x1_0000_0005);
      expect(d.intendedNs).to.equal(FIELDS.intendedNs);
      expect(d.actualNs).to.equal(FIELDS.actualNs);
      expect(d.length).to.equal(length);
      expect(Buffer.from(d.runId).toString('hex')).to.equal('0102030405060708');
    }
  });

  it('re-stamps the send times in place and stays valid', () => {
    const b = encoded();
    stampProbeTimes(b, 10, 20);
    const d = decodeProbe(b);
    expect(d.kind).to.equal('probe');
    if (d.kind === 'probe') expect([d.intendedNs, d.actualNs]).to.deep.equal([10, 20]);
  });

  it('names truncation: shorter than the header or than the length field', () => {
    const b = encoded();
    expect(decodeProbe(b.subarray(0, 2)).kind).to.equal('truncated');
    expect(decodeProbe(b.subarray(0, 20)).kind).to.equal('truncated');
    expect(decodeProbe(b.subarray(0, 47)).kind).to.equal('truncated');
    const d = decodeProbe(b.subarray(0, 52), RUN);
    expect(d.kind).to.equal('truncated');
    if (d.kind === 'truncated') expect(d.probe?.seq).to.equal(0x1_0000_0005);
  });

  it('names corruption byte for byte: any filler byte, any header byte, extra bytes', () => {
    const b = encoded();
    for (let i = 0; i < b.length; i++) {
      const c = Buffer.from(b);
      c[i] = (c[i] as number) ^ 0x01;
      const kind = decodeProbe(c).kind;
      // Magic and version bytes make it foreign; every other byte is corruption.
      expect(kind, `byte ${i}`).to.equal(i < 5 ? 'foreign' : 'corrupted');
    }
    expect(decodeProbe(Buffer.concat([b, Buffer.from([0])])).kind).to.equal('corrupted');
    const cut = Buffer.from(b.subarray(0, 52));
    cut[50] = (cut[50] as number) ^ 0xff;
    expect(decodeProbe(cut).kind).to.equal('corrupted');
  });

  it('names foreign datagrams: other magic, other version, other run id, empty', () => {
    expect(decodeProbe(Buffer.alloc(0)).kind).to.equal('foreign');
    expect(decodeProbe(Buffer.from('hello world, this is not a probe at all, really!')).kind).to.equal(
      'foreign',
    );
    const v2 = encoded();
    v2[4] = 2;
    expect(decodeProbe(v2).kind).to.equal('foreign');
    expect(decodeProbe(encoded(), Buffer.from('0102030405060709', 'hex')).kind).to.equal('foreign');
    expect(decodeProbe(encoded(), RUN).kind).to.equal('probe');
  });
});
