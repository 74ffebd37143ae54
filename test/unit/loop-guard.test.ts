import { expect } from 'chai';
import { LOOP_GUARD, createLoopGuard, payloadHash } from '../../reference-server/loop-guard.js';

const PEER = '192.0.2.1';
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text));

/** Feeds `times` arrivals of `payload` from PEER:port, `everyMs` apart from `startMs`; returns the verdicts. */
function feed(
  guard: ReturnType<typeof createLoopGuard>,
  payload: Uint8Array,
  times: number,
  everyMs: number,
  startMs = 0,
  port = 40000,
): boolean[] {
  return Array.from({ length: times }, (_, i) => guard.isLoop(PEER, port, payload, startMs + i * everyMs));
}

describe('loop guard', () => {
  it('answers LOOP_GUARD.repeats fast repeats of one payload from one peer, then drops every further one', () => {
    const g = createLoopGuard();
    // A loop on one host: one round trip is tens of microseconds.
    const verdicts = feed(g, bytes('loop me'), 20, 0.03);
    expect(verdicts.slice(0, LOOP_GUARD.repeats)).to.deep.equal(Array(LOOP_GUARD.repeats).fill(false));
    expect(verdicts.slice(LOOP_GUARD.repeats)).to.deep.equal(Array(20 - LOOP_GUARD.repeats).fill(true));
  });

  it('also catches a loop whose round trip is just under the gap', () => {
    const g = createLoopGuard();
    const verdicts = feed(g, bytes('far away'), 10, LOOP_GUARD.gapMs - 0.5);
    expect(verdicts.indexOf(true)).to.equal(LOOP_GUARD.repeats);
  });

  it('never drops a client that repeats one payload every 20 ms or slower', () => {
    const g = createLoopGuard();
    for (const everyMs of [20, 35, 50, 1000]) {
      expect(feed(g, bytes('ping'), 500, everyMs, everyMs * 1_000_000)).to.not.include(true);
    }
  });

  it('starts over after a pause longer than the gap', () => {
    const g = createLoopGuard();
    const payload = bytes('again');
    expect(feed(g, payload, LOOP_GUARD.repeats, 1)).to.not.include(true);
    // Just past the gap: the streak starts at one again, so another run of repeats is answered.
    const later = LOOP_GUARD.repeats + LOOP_GUARD.gapMs + 1;
    expect(feed(g, payload, LOOP_GUARD.repeats, 1, later)).to.not.include(true);
    expect(g.isLoop(PEER, 40000, payload, later + LOOP_GUARD.repeats)).to.equal(true);
  });

  it('keeps peers and payloads apart: another port, address or payload has its own streak', () => {
    // A fixed key: the four streams below land in four different slots.
    const g = createLoopGuard({ seed: 1 });
    const payload = bytes('shared');
    const streams: [string, number, Uint8Array][] = [
      [PEER, 40000, payload],
      [PEER, 40001, payload],
      ['192.0.2.2', 40000, payload],
      [PEER, 40000, bytes('other')],
    ];
    let t = 0;
    // Interleaved, so that one shared streak would reach the limit four times sooner.
    for (let round = 0; round < LOOP_GUARD.repeats; round++) {
      for (const [address, port, data] of streams)
        expect(g.isLoop(address, port, data, (t += 0.01))).to.equal(false);
    }
    for (const [address, port, data] of streams)
      expect(g.isLoop(address, port, data, (t += 0.01))).to.equal(true);
  });

  it('catches two loops between the same peers whose datagrams interleave', () => {
    const g = createLoopGuard({ seed: 1 });
    const x = bytes('first forged datagram');
    const y = bytes('second forged datagram');
    const verdicts: [boolean, boolean][] = [];
    for (let i = 0; i < 12; i++) {
      verdicts.push([g.isLoop(PEER, 40000, x, i * 0.05), g.isLoop(PEER, 40000, y, i * 0.05 + 0.02)]);
    }
    expect(verdicts.findIndex(([a]) => a)).to.equal(LOOP_GUARD.repeats);
    expect(verdicts.findIndex(([, b]) => b)).to.equal(LOOP_GUARD.repeats);
  });

  it('never lets a second payload that shares the slot reset a streak in progress', () => {
    // One slot: every peer and payload shares it, as payloads chosen to collide would.
    const g = createLoopGuard({ slots: 1 });
    const loop = bytes('the loop');
    const other = bytes('the other one');
    const verdicts: boolean[] = [];
    for (let i = 0; i < 12; i++) {
      verdicts.push(g.isLoop(PEER, 40000, loop, i));
      // Untracked while the slot is held: answered, and no harm to the loop's streak.
      expect(g.isLoop(PEER, 40000, other, i + 0.5)).to.equal(false);
    }
    expect(verdicts.indexOf(true)).to.equal(LOOP_GUARD.repeats);
    // Once the first loop is over (a gap later), the slot tracks the other payload.
    const later = 100;
    expect(feed(g, other, LOOP_GUARD.repeats + 1, 1, later)).to.deep.equal([
      ...Array<boolean>(LOOP_GUARD.repeats).fill(false),
      true,
    ]);
  });

  it('takes its thresholds from the options', () => {
    const g = createLoopGuard({ repeats: 2, gapMs: 100, slots: 16 });
    expect(feed(g, bytes('x'), 4, 50)).to.deep.equal([false, false, true, true]);
    expect(() => createLoopGuard({ slots: 12 })).to.throw(RangeError, /power of two/);
  });

  it('hashes the bytes only: the same payload at any alignment has one hash, one flipped bit another', () => {
    for (const size of [0, 1, 7, 8, 9, 31, 64, 1400, 65507]) {
      const data = Buffer.alloc(size + 3);
      for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 17) & 0xff;
      const aligned = new Uint8Array(new ArrayBuffer(size));
      aligned.set(data.subarray(1, size + 1));
      const shifted = data.subarray(1, size + 1);
      expect(payloadHash(shifted, 42), `size ${size}`).to.equal(payloadHash(aligned, 42));
      expect(payloadHash(aligned, 43), `size ${size}, another key`).to.not.equal(payloadHash(aligned, 42));
      if (size > 0) {
        const flipped = aligned.slice();
        flipped[size >> 1] = (flipped[size >> 1] ?? 0) ^ 1;
        expect(payloadHash(flipped, 42), `size ${size}, one bit`).to.not.equal(payloadHash(aligned, 42));
      }
    }
  });
});
