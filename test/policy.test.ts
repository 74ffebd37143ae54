import { expect } from 'chai';
import { ACCEPT, createPolicy, parseRange, type PolicyOptions } from '../reference-server/policy.js';
import { refusedTable } from '../reference-server/echo-socket.js';

const base: PolicyOptions = {
  refused: refusedTable([0, 7]),
  allow: [],
  deny: [],
  ratePerSource: 0,
  burstPerSource: 1,
  rateGlobal: 0,
  maxSources: 16,
};

describe('reference server policy', () => {
  it('accepts everything but loop ports when nothing is configured', () => {
    const p = createPolicy(base);
    expect(p.decide('192.0.2.1', 40000, 'udp4', 0)).to.equal(ACCEPT);
    expect(p.decide('192.0.2.1', 7, 'udp4', 0)).to.equal('loop-port');
    expect(p.trackedSources()).to.equal(0);
  });

  it('answers only allowed ranges, and deny wins over allow, for both families and v4-mapped sources', () => {
    const p = createPolicy({ ...base, allow: ['127.0.0.0/8', '2001:db8::/32'], deny: ['127.0.0.66'] });
    expect(p.decide('127.0.0.1', 40000, 'udp4', 0)).to.equal(ACCEPT);
    expect(p.decide('127.0.0.66', 40000, 'udp4', 0)).to.equal('denied');
    expect(p.decide('192.0.2.1', 40000, 'udp4', 0)).to.equal('not-allowed');
    expect(p.decide('2001:db8::5', 40000, 'udp6', 0)).to.equal(ACCEPT);
    expect(p.decide('::1', 40000, 'udp6', 0)).to.equal('not-allowed');
    expect(p.decide('::ffff:127.0.0.9', 40000, 'udp6', 0)).to.equal(ACCEPT);
    expect(p.decide('::ffff:127.0.0.66', 40000, 'udp6', 0)).to.equal('denied');
    expect(p.decide('fe80::1%eth0', 40000, 'udp6', 0)).to.equal('not-allowed');
  });

  it('rejects ranges that are not addresses or CIDRs', () => {
    expect(() => parseRange('10.0.0.0/33')).to.throw(/CIDR/);
    expect(() => parseRange('example.com')).to.throw(/CIDR/);
    expect(parseRange('192.0.2.7')[1]).to.equal(32);
  });

  it('throttles one source beyond its bucket and rate while another source is unaffected', () => {
    const p = createPolicy({ ...base, ratePerSource: 10, burstPerSource: 5 });
    const flood = Array.from({ length: 50 }, () => p.decide('10.0.0.1', 40000, 'udp4', 1000));
    expect(flood.filter((v) => v === ACCEPT)).to.have.length(5);
    expect(flood.filter((v) => v === 'rate-source')).to.have.length(45);
    expect(p.decide('10.0.0.2', 40000, 'udp4', 1000)).to.equal(ACCEPT);
    // 10 per second: one token back after 100 ms, not before.
    expect(p.decide('10.0.0.1', 40000, 'udp4', 1050)).to.equal('rate-source');
    expect(p.decide('10.0.0.1', 40000, 'udp4', 1101)).to.equal(ACCEPT);
    expect(p.decide('10.0.0.1', 40000, 'udp4', 1102)).to.equal('rate-source');
    // A clock that steps back never mints tokens.
    expect(p.decide('10.0.0.1', 40000, 'udp4', 900)).to.equal('rate-source');
  });

  it('applies the global limit across sources without charging throttled sources', () => {
    const p = createPolicy({ ...base, rateGlobal: 4, ratePerSource: 2, burstPerSource: 2 });
    const a = [1, 2, 3].map(() => p.decide('10.0.0.1', 40000, 'udp4', 0));
    expect(a).to.deep.equal([ACCEPT, ACCEPT, 'rate-source']);
    const b = [1, 2, 3].map(() => p.decide('10.0.0.2', 40000, 'udp4', 0));
    expect(b).to.deep.equal([ACCEPT, ACCEPT, 'rate-source']);
    expect(p.decide('10.0.0.3', 40000, 'udp4', 0)).to.equal('rate-global');
    expect(p.decide('10.0.0.3', 40000, 'udp4', 250)).to.equal(ACCEPT);
  });

  it('keeps the source table within maxSources, forgetting the least recently seen first', () => {
    const p = createPolicy({ ...base, ratePerSource: 1, burstPerSource: 1, maxSources: 100 });
    expect(p.decide('10.0.0.1', 40000, 'udp4', 0)).to.equal(ACCEPT);
    for (let i = 0; i < 10_000; i++) {
      p.decide(`10.1.${i >> 8}.${i & 255}`, 1024 + i, 'udp4', 0);
      // The flooder keeps sending: as the most recent source it is never the one forgotten.
      if (i % 50 === 0) expect(p.decide('10.0.0.1', 40000, 'udp4', 0)).to.equal('rate-source');
    }
    expect(p.trackedSources()).to.equal(100);
    expect(p.evictedSources()).to.equal(10_001 - 100);
  });
});
