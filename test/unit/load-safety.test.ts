import { expect } from 'chai';
import { HarnessError } from '../../harness/errors.js';
import {
  byteRateText,
  checkLoadSafety,
  datagramOnWire,
  resolveLoadOptions,
  SAFE_BYTE_CAP,
  SAFE_RATE_CAP,
  wireRate,
} from '../../harness/load/options.js';
import type { LoadOptions } from '../../harness/load/types.js';
import type { Family } from '../../harness/protocol/constants.js';

/** A target nothing sends to: these tests only judge options. */
const REMOTE = { address: '192.0.2.1', embedded: false, family: 'IPv4' as Family };

/** The usage error checkLoadSafety throws for `options` against `target`, or undefined when it allows the run. */
function refusal(options: LoadOptions, target = REMOTE, mtu?: number): HarnessError | undefined {
  try {
    checkLoadSafety(resolveLoadOptions(options), target, mtu);
    return undefined;
  } catch (err) {
    expect(err).to.be.instanceOf(HarnessError);
    expect((err as HarnessError).code).to.equal('ERR_ECHOLOT_USAGE');
    return err as HarnessError;
  }
}

describe('load safety: packets and bytes on the wire', () => {
  it('counts the IP fragments and headers of one datagram', () => {
    expect(datagramOnWire(64, 'IPv4', 1500)).to.deep.equal({ packets: 1, bytes: 92 });
    expect(datagramOnWire(1472, 'IPv4', 1500)).to.deep.equal({ packets: 1, bytes: 1500 });
    expect(datagramOnWire(1473, 'IPv4', 1500)).to.deep.equal({ packets: 2, bytes: 1521 });
    // 65515 bytes of UDP in fragments of 1480: 45 packets, each with its own 20-byte header.
    expect(datagramOnWire(65507, 'IPv4', 1500)).to.deep.equal({ packets: 45, bytes: 65515 + 45 * 20 });
    expect(datagramOnWire(65507, 'IPv4', 9000)).to.deep.equal({ packets: 8, bytes: 65515 + 8 * 20 });
    // IPv6: a 40-byte header, and an 8-byte fragment header in each fragment (1448 bytes of UDP each).
    expect(datagramOnWire(1452, 'IPv6', 1500)).to.deep.equal({ packets: 1, bytes: 1500 });
    expect(datagramOnWire(65527, 'IPv6', 1500)).to.deep.equal({ packets: 46, bytes: 65535 + 46 * 48 });
  });

  it('averages the sizes of a run (used round-robin) into packets/s and bytes/s', () => {
    const one = wireRate({ rate: 1000, sizes: [65507] }, 'IPv4');
    expect(one).to.deep.equal({ packetsPerS: 45_000, bytesPerS: 66_415_000, mtu: 1500, mtuKnown: false });
    const mixed = wireRate({ rate: 1000, sizes: [64, 65507] }, 'IPv4', 1500);
    expect(mixed.packetsPerS).to.equal(23_000);
    expect(mixed.bytesPerS).to.equal((92 + 66_415) * 500);
    expect(mixed.mtuKnown).to.equal(true);
    // An MTU no IPv4 or IPv6 link can have is not believed.
    expect(wireRate({ rate: 1, sizes: [64] }, 'IPv6', 600)).to.include({ mtu: 1500, mtuKnown: false });
  });

  it('says byte rates in powers of 10', () => {
    expect(byteRateText(SAFE_BYTE_CAP)).to.equal('1.5 MB/s');
    expect(byteRateText(66_415_000)).to.equal('66.4 MB/s');
    expect(byteRateText(92_000)).to.equal('92 kB/s');
    expect(byteRateText(500)).to.equal('500 B/s');
  });

  it('refuses --rate 1000 --size 65507 against a target it does not own: 45,000 packets/s, not 1000 datagrams/s', () => {
    const err = refusal({ rate: 1000, sizes: [65507] });
    expect(err?.problems?.map((p) => [p.path, p.value])).to.deep.equal([['rate', 1000]]);
    expect(err?.message).to.equal(
      'rate 1000: against 192.0.2.1, which is not a loopback address: 1,000 datagrams/s of `sizes` 65507 are ' +
        '45,000 packets/s and 66.4 MB/s on the wire (45 IPv4 packets per datagram, MTU 1500 assumed), above ' +
        'the cap of 1,000 packets/s and 1.5 MB/s: you must confirm that you own the target with `ownTarget`',
    );
    // The route's MTU, when known, counts the fragments.
    expect(refusal({ rate: 1000, sizes: [65507] }, REMOTE, 9000)?.message).to.contain(
      '8,000 packets/s and 65.7 MB/s on the wire (8 IPv4 packets per datagram, route MTU 9000)',
    );
  });

  it('allows up to the cap of packets/s and of bytes/s, and no further', () => {
    expect(SAFE_RATE_CAP).to.equal(1000);
    expect(refusal({ rate: 1000, sizes: [64] })).to.equal(undefined);
    // 1000 unfragmented datagrams of 1500 bytes on the wire: both caps, exactly.
    expect(refusal({ rate: 1000, sizes: [1472] })).to.equal(undefined);
    expect(refusal({ rate: 1000, sizes: [1473] })?.message).to.contain('2,000 packets/s');
    expect(refusal({ rate: 1001, sizes: [64] })?.message).to.contain('1,001 packets/s');
    // Sizes used round-robin: half the datagrams are 2 fragments, so 700/s is 1050 packets/s.
    expect(refusal({ rate: 600, sizes: [64, 2000] })).to.equal(undefined);
    expect(refusal({ rate: 700, sizes: [64, 2000] })?.message).to.contain(
      '1,050 packets/s and 749 kB/s on the wire (1.5 IPv4 packets per datagram',
    );
    // A jumbo-frame route carries 9000-byte packets: 200 of them a second is 1.8 MB/s, over the byte cap.
    expect(refusal({ rate: 200, sizes: [8972] }, REMOTE, 9000)?.message).to.contain(
      '200 packets/s and 1.8 MB/s on the wire',
    );
    expect(refusal({ rate: 166, sizes: [8972] }, REMOTE, 9000)).to.equal(undefined);
    // A fractional rate is said as given.
    expect(refusal({ rate: 22.5, sizes: [65507] })?.message).to.contain('22.5 datagrams/s');
  });

  it('refuses the unpaced modes at any rate, naming the mode', () => {
    for (const mode of ['flood', 'ping-pong'] as const) {
      const err = refusal({ mode, sizes: [64] });
      expect(err?.problems?.[0]?.path).to.equal('mode');
      expect(err?.message).to.match(
        new RegExp(
          `^mode ${mode}: unpaced, against 192\\.0\\.2\\.1, which is not a loopback address: .*\`ownTarget\`$`,
        ),
      );
    }
  });

  it('allows anything against a target the run owns: loopback, embedded, or ownTarget', () => {
    const big = { rate: 100_000, sizes: [65507] };
    expect(refusal(big, { ...REMOTE, address: '127.0.0.1' })).to.equal(undefined);
    expect(refusal(big, { ...REMOTE, address: '127.9.9.9' })).to.equal(undefined);
    expect(refusal(big, { address: '::1', embedded: false, family: 'IPv6' })).to.equal(undefined);
    expect(refusal(big, { ...REMOTE, embedded: true })).to.equal(undefined);
    expect(refusal({ ...big, ownTarget: true })).to.equal(undefined);
    expect(refusal({ mode: 'flood', ownTarget: true })).to.equal(undefined);
    // A test host's address is the run's only when it says so.
    expect(refusal(big, { ...REMOTE, address: '198.18.3.2' })).to.be.instanceOf(HarnessError);
  });
});
