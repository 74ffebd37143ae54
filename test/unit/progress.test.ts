import { expect } from 'chai';
import { statusLine } from '../../harness/cli/terminal.js';
import { formatElapsed, renderCheckProgress } from '../../harness/reporters/console.js';

/** A stream stand-in that records what is written. */
const recorder = (
  isTTY: boolean,
  columns?: number,
): { written: string[]; isTTY: boolean; columns?: number; write(s: string): boolean } => ({
  written: [],
  isTTY,
  ...(columns === undefined ? {} : { columns }),
  write(s: string): boolean {
    this.written.push(s);
    return true;
  },
});

describe('check progress', () => {
  it('shows the counter, the running case and the elapsed time', () => {
    const line = renderCheckProgress({
      started: 12,
      total: 40,
      current: { id: '3.4', title: 'the largest datagram is echoed' },
      elapsedMs: 65_400,
    });
    expect(line).to.equal('  [12/40] 3.4 the largest datagram is echoed  1:05');
  });

  it('shows only the counter and the time between cases', () => {
    expect(renderCheckProgress({ started: 3, total: 40, elapsedMs: 7_900 })).to.equal('  [3/40]  7 s');
  });

  it('cuts a long title so that the line never wraps, keeping the counter and the time', () => {
    const line = renderCheckProgress(
      { started: 1, total: 9, current: { id: '9.1', title: 'x'.repeat(200) }, elapsedMs: 3_600_000 },
      40,
    );
    expect(line.length).to.be.at.most(39);
    expect(line).to.match(/^ {2}\[1\/9\] 9\.1 x+… {2}1:00:00$/);
  });

  it('escapes control characters of a title', () => {
    const line = renderCheckProgress({
      started: 1,
      total: 1,
      current: { id: '1.1', title: 'a\u001b[2Jb' },
      elapsedMs: 0,
    });
    expect(line).to.not.include('\u001b');
    expect(line).to.include('a\\x1b[2Jb');
  });

  it('formats elapsed time in seconds, minutes and hours', () => {
    expect([0, 59_999, 60_000, 3_599_000, 3_723_000].map(formatElapsed)).to.deep.equal([
      '0 s',
      '59 s',
      '1:00',
      '59:59',
      '1:02:03',
    ]);
  });
});

describe('status line', () => {
  it('draws over itself and erases itself on a terminal', () => {
    const tty = recorder(true, 120);
    const s = statusLine(tty);
    s.show('one');
    s.show('two');
    s.clear();
    s.clear();
    expect(tty.written).to.deep.equal(['\r\u001b[Kone', '\r\u001b[Ktwo', '\r\u001b[K']);
    expect(s.columns).to.equal(120);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const pipe = recorder(false);
    const s = statusLine(pipe);
    s.show('one');
    s.clear();
    expect(pipe.written).to.deep.equal([]);
    expect(s.columns).to.equal(80);
  });
});
