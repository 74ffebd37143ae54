import { expect } from 'chai';
import { clockNs } from '../../harness/load/clock.js';
import { FEED_AHEAD_NS, makeSchedule, runFeeder, type FeedTarget } from '../../harness/load/pacer.js';

/**
 * A data plane stand-in: a ring of `capacity` entries whose due ones are "sent" at every flush or poll, and
 * those intended at or after a cut dropped, as native/plane.c does.
 */
class FakePlane implements FeedTarget {
  readonly sent: number[] = [];
  readonly cuts: number[] = [];
  written: number[] = [];
  handed: number[] = [];
  maxAheadNs = 0;
  constructor(private readonly capacity: number) {}
  get free(): number {
    return this.capacity - this.handed.length - this.written.length;
  }
  get unsent(): number {
    return this.handed.length;
  }
  write(intendedNs: number): void {
    this.maxAheadNs = Math.max(this.maxAheadNs, intendedNs - clockNs());
    this.written.push(intendedNs);
  }
  flush(): void {
    this.handed.push(...this.written);
    this.written = [];
    this.sendDue();
  }
  cut(endNs: number): void {
    this.cuts.push(endNs);
  }
  poll(): void {
    this.sendDue();
  }
  private sendDue(): void {
    const now = clockNs();
    const end = Math.min(Infinity, ...this.cuts);
    while (this.handed.length > 0 && (this.handed[0] as number) <= now) {
      const at = this.handed.shift() as number;
      if (at < end) this.sent.push(at);
    }
    while (this.handed.length > 0 && (this.handed[0] as number) >= end) this.handed.shift();
  }
}

describe('load: the data plane feeder (rate mode)', () => {
  it('hands every probe of the schedule over in order, never beyond the ring or the horizon, and ends at the end', async () => {
    const t0 = clockNs() + 5e6;
    const endNs = t0 + 150e6;
    const plane = new FakePlane(64);
    // 2000/s for 150 ms: 300 probes, at most 64 handed over at a time.
    await runFeeder(
      { schedule: makeSchedule('constant', t0, 2000), send: (at) => plane.write(at) },
      () => endNs,
      plane,
    );
    expect(plane.sent).to.have.length(300);
    expect(plane.sent).to.deep.equal([...plane.sent].sort((a, b) => a - b));
    expect(plane.sent[0]).to.equal(t0);
    expect(Math.max(...plane.sent)).to.be.below(endNs);
    expect(plane.maxAheadNs).to.be.at.most(FEED_AHEAD_NS);
    expect(plane.unsent).to.equal(0);
    expect(clockNs()).to.be.at.least(plane.sent.at(-1) as number);
  });

  it('stops at a cut: nothing intended after it is handed over, and the plane is told', async () => {
    const t0 = clockNs();
    let end = t0 + 10e9;
    setTimeout(() => {
      end = clockNs();
    }, 60);
    const plane = new FakePlane(1 << 16);
    const started = clockNs();
    await runFeeder(
      { schedule: makeSchedule('constant', t0, 10_000), send: (at) => plane.write(at) },
      () => end,
      plane,
    );
    expect(clockNs() - started).to.be.below(2e9);
    expect(plane.cuts.at(-1)).to.equal(end);
    // Probes handed over ahead of the cut (up to FEED_AHEAD_NS) and intended after it are the plane's to drop.
    expect(plane.sent.length).to.be.at.least(300);
    expect(Math.max(...plane.sent)).to.be.below(end);
  });

  it('with a schedule the plane computes: hands nothing over, passes every cut on, and ends when the plane has sent it all', async () => {
    // A plane computing 10,000/s from t0 itself: its unsent sends are the slots due before the end not past yet.
    const t0 = clockNs();
    let end = t0 + 10e9;
    const cuts: number[] = [];
    let flushes = 0;
    const plane: FeedTarget = {
      get free() {
        return 0;
      },
      get unsent() {
        const last = Math.min(...cuts);
        return Math.max(0, Math.ceil((last - Math.max(t0, clockNs())) / 1e5));
      },
      flush: () => {
        flushes++;
      },
      cut: (e) => cuts.push(e),
      poll: () => {},
    };
    setTimeout(() => {
      end = clockNs() + 30e6;
    }, 50);
    await runFeeder(undefined, () => end, plane);
    expect(clockNs()).to.be.at.least(end);
    expect(clockNs() - end).to.be.below(1e9);
    expect(cuts[0]).to.equal(t0 + 10e9);
    expect(cuts.at(-1)).to.equal(end);
    expect(flushes).to.equal(cuts.length);
  });
});
