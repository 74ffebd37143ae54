import { expect } from 'chai';
import {
  ACCEPT,
  createPolicy,
  parseRange,
  type Policy,
  type PolicyOptions,
} from '../../reference-server/policy.js';
import { refusedTable } from '../../reference-server/echo-socket.js';
import { shareGroup } from '../../reference-server/fair-share.js';
import { resolveServeOptions } from '../../reference-server/options.js';

const base: PolicyOptions = {
  refused: refusedTable([0, 7]),
  allow: [],
  deny: [],
  rateLimit: 0,
  rateBurst: 1,
  globalRateLimit: 0,
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

  it('reads v4-mapped ranges as the IPv4 ranges they mean, so they match IPv4 and v4-mapped sources', () => {
    const one = parseRange('::ffff:127.0.0.2');
    expect([one[0].kind(), one[0].toString(), one[1]]).to.deep.equal(['ipv4', '127.0.0.2', 32]);
    const eight = parseRange('::ffff:127.0.0.0/104');
    expect([eight[0].kind(), eight[0].toString(), eight[1]]).to.deep.equal(['ipv4', '127.0.0.0', 8]);
    const p = createPolicy({ ...base, deny: ['::ffff:127.0.0.2'] });
    expect(p.decide('127.0.0.2', 40000, 'udp4', 0)).to.equal('denied');
    expect(p.decide('::ffff:127.0.0.2', 40000, 'udp6', 0)).to.equal('denied');
    expect(p.decide('127.0.0.3', 40000, 'udp4', 0)).to.equal(ACCEPT);
    const allow = createPolicy({ ...base, allow: ['::ffff:127.0.0.0/104'] });
    expect(allow.decide('127.9.9.9', 40000, 'udp4', 0)).to.equal(ACCEPT);
    expect(allow.decide('10.0.0.1', 40000, 'udp4', 0)).to.equal('not-allowed');
    expect(allow.decide('::1', 40000, 'udp6', 0)).to.equal('not-allowed');
  });

  it('refuses a range with host bits set, naming the network it probably means', () => {
    expect(() => parseRange('127.0.0.1/8')).to.throw(/^has host bits set; did you mean 127\.0\.0\.0\/8\?$/);
    expect(() => parseRange('192.0.2.77/25')).to.throw(/did you mean 192\.0\.2\.0\/25\?$/);
    expect(() => parseRange('2001:db8::1/32')).to.throw(/did you mean 2001:db8::\/32\?$/);
    expect(() => parseRange('::ffff:127.0.0.1/104')).to.throw(/did you mean ::ffff:127\.0\.0\.0\/104\?$/);
    expect(parseRange('127.0.0.0/8')[1]).to.equal(8);
    expect(parseRange('192.0.2.1/32')[1]).to.equal(32);
    expect(parseRange('0.0.0.0/0')[1]).to.equal(0);
    expect(() =>
      resolveServeOptions({ allow: ['127.0.0.0/8', '127.0.0.1/8'], deny: ['::ffff:127.0.0.2'] }),
    ).to.throw(/^allow\[1\] 127\.0\.0\.1\/8: has host bits set; did you mean 127\.0\.0\.0\/8\?$/);
  });

  it('throttles one source beyond its bucket and rate while another source is unaffected', () => {
    const p = createPolicy({ ...base, rateLimit: 10, rateBurst: 5 });
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
    const p = createPolicy({ ...base, globalRateLimit: 4, rateLimit: 2, rateBurst: 2 });
    const a = [1, 2, 3].map(() => p.decide('10.0.0.1', 40000, 'udp4', 0));
    expect(a).to.deep.equal([ACCEPT, ACCEPT, 'rate-source']);
    const b = [1, 2, 3].map(() => p.decide('10.0.0.2', 40000, 'udp4', 0));
    expect(b).to.deep.equal([ACCEPT, ACCEPT, 'rate-source']);
    expect(p.decide('10.0.0.3', 40000, 'udp4', 0)).to.equal('rate-global');
    expect(p.decide('10.0.0.3', 40000, 'udp4', 250)).to.equal(ACCEPT);
  });

  it('keeps the source table within maxSources, forgetting the least recently seen first', () => {
    const p = createPolicy({ ...base, rateLimit: 1, rateBurst: 1, maxSources: 100 });
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

/**
 * One sender of a simulation: `rate` datagrams per second from `addresses` in turn, each at a random point
 * of its slot (1/rate long), so that streams do not tick in lockstep with each other or the bucket.
 */
interface Stream {
  readonly addresses: readonly string[];
  readonly rate: number;
}

interface Outcome {
  /** Datagrams sent and answered, per stream. */
  readonly sent: number[];
  readonly accepted: number[];
  /** Datagrams answered in each second of synthetic time, all streams together. */
  readonly perSecond: number[];
}

/** Runs the streams through `p` for `seconds` of synthetic time, in time order; counts what each got. */
function simulate(p: Policy, streams: readonly Stream[], seconds: number): Outcome {
  const startMs = 1000;
  const endMs = startMs + seconds * 1000;
  const next = streams.map(() => 0);
  // A fixed-seed generator (the LCG of Numerical Recipes), so every run is the same.
  let seed = 12345;
  const random = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const offset = streams.map(() => random());
  const at = (s: number): number => startMs + ((next[s]! + offset[s]!) * 1000) / streams[s]!.rate;
  const sent = streams.map(() => 0);
  const accepted = streams.map(() => 0);
  const perSecond = Array.from({ length: seconds }, () => 0);
  for (;;) {
    let s = 0;
    for (let i = 1; i < streams.length; i++) if (at(i) < at(s)) s = i;
    const nowMs = at(s);
    if (nowMs >= endMs) break;
    const { addresses } = streams[s]!;
    const verdict = p.decide(addresses[next[s]! % addresses.length]!, 40000, 'udp4', nowMs);
    next[s]!++;
    offset[s] = random();
    sent[s]!++;
    if (verdict === ACCEPT) {
      accepted[s]!++;
      perSecond[Math.floor((nowMs - startMs) / 1000)]!++;
    } else {
      expect(verdict).to.equal('rate-global');
    }
  }
  return { sent, accepted, perSecond };
}

/** Checks that the answers stay within the global limit: per second and over the run, the rate plus the burst. */
function expectWithinGlobalLimit(o: Outcome, rate: number): void {
  for (const [second, n] of o.perSecond.entries())
    expect(n, `answered in second ${second}`).to.be.at.most(2 * rate);
  const total = o.perSecond.reduce((a, b) => a + b, 0);
  expect(total).to.be.at.most(rate * o.perSecond.length + rate);
  // Work-conserving: the flood keeps the budget busy, so nothing of it is left unused.
  expect(total).to.be.at.least(rate * o.perSecond.length * 0.98);
}

const addresses = (n: number, make: (i: number) => string): string[] =>
  Array.from({ length: n }, (_, i) => make(i));

describe('reference server global rate limit, shared fairly', () => {
  const rate = 1000;
  const global = (): Policy => createPolicy({ ...base, globalRateLimit: rate, maxSources: 16384 });

  it('keeps most replies of a modest client under a flood from 2000 addresses in a few networks', () => {
    // 2000 addresses in 198.18.0.0/21 at ten times the global rate; the client sends at 2% of it.
    const flood = { addresses: addresses(2000, (i) => `198.18.${i >> 8}.${i & 255}`), rate: 10 * rate };
    const client = { addresses: ['192.0.2.10'], rate: 0.02 * rate };
    const o = simulate(global(), [flood, client], 20);
    expect(o.sent[1]).to.equal(400);
    expect(o.accepted[1], 'client replies of 400').to.be.at.least(0.9 * 400);
    expectWithinGlobalLimit(o, rate);
  });

  it('gives a client at least its fair share when the flood comes from as many networks as addresses', () => {
    // 200 addresses, each in its own /24, at ten times the global rate, and two clients: 202 networks, a
    // fair share of about 5 per second each. A client at 2 per second is within its share and keeps its
    // replies; one at 2% of the rate cannot be told from the flood and gets about its share.
    const flood = { addresses: addresses(200, (i) => `10.${i}.0.1`), rate: 10 * rate };
    const modest = { addresses: ['192.0.2.10'], rate: 2 };
    const busy = { addresses: ['203.0.113.10'], rate: 0.02 * rate };
    const seconds = 20;
    const o = simulate(global(), [flood, modest, busy], seconds);
    expect(o.accepted[1], `modest client replies of ${o.sent[1]}`).to.be.at.least(0.9 * o.sent[1]!);
    expect(o.accepted[2], `busy client replies of ${o.sent[2]}`).to.be.at.least(0.8 * (rate / 202) * seconds);
    expectWithinGlobalLimit(o, rate);
  });

  it('does not let a stream of never-seen sources shrink the share of a client', () => {
    // Forged sources, each address (and /24) used once: they count as no one's share and get only what is left.
    const forged = {
      addresses: addresses(200_000, (i) => `${11 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.1`),
      rate: 10 * rate,
    };
    const client = { addresses: ['192.0.2.10'], rate: 0.02 * rate };
    const o = simulate(global(), [forged, client], 10);
    expect(o.accepted[1], `client replies of ${o.sent[1]}`).to.be.at.least(0.9 * o.sent[1]!);
    expectWithinGlobalLimit(o, rate);
  });

  it('groups sources by /24 and /56 for the share, v4-mapped sources as IPv4', () => {
    expect(shareGroup('192.0.2.77')).to.equal('192.0.2.0/24');
    expect(shareGroup('::ffff:192.0.2.77')).to.equal('192.0.2.0/24');
    expect(shareGroup('2001:db8:1:2ff::1')).to.equal('2001:db8:1:200::/56');
    expect(shareGroup('fe80::1%eth0')).to.equal('fe80::/56');
  });

  it('lets one heavy source alone use the whole global budget', () => {
    const o = simulate(global(), [{ addresses: ['192.0.2.10'], rate: 5 * rate }], 10);
    expectWithinGlobalLimit(o, rate);
  });

  it('splits the budget about evenly between two heavy sources of unequal rates', () => {
    const a = { addresses: ['192.0.2.10'], rate: 8 * rate };
    const b = { addresses: ['198.51.100.10'], rate: 2 * rate };
    const o = simulate(global(), [a, b], 10);
    expectWithinGlobalLimit(o, rate);
    const total = o.accepted[0]! + o.accepted[1]!;
    expect(o.accepted[0]! / total, 'share of the faster source').to.be.within(0.4, 0.6);
  });
});
