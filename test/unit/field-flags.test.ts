import { expect } from 'chai';
import { msText, problemText, rateText, usText, type FieldFlags } from '../../harness/cli/field-flags.js';

describe('field-flags: a library problem in the words of a command', () => {
  const flags: FieldFlags = {
    durationMs: { flag: '--duration', unit: msText },
    flows: { flag: '--flows' },
    workers: { flag: '--workers' },
    sizes: { flag: '--size' },
    bind: { flag: '--bind', repeated: true },
    thresholds: { flag: '--threshold', repeated: true, quoted: true },
  };
  const range = [100, 86_400_000] as const;

  it('names the flag and the text typed, and says a broken bound in the flag units', () => {
    const p = { path: 'durationMs', value: 50, message: 'must be an integer in 100..86400000', range };
    expect(problemText(p, flags, new Map([['--duration', '50ms']]))).to.equal(
      '--duration 50ms: must be at least 100ms',
    );
    expect(problemText({ ...p, value: 90_000_000 }, flags, new Map([['--duration', '25h']]))).to.equal(
      '--duration 25h: must be at most 24h',
    );
  });

  it('shows a value the user did not type as the default, and other fields by their flags', () => {
    const p = { path: 'workers', value: 4, message: 'must be at most `flows` (2); each worker needs a flow' };
    expect(problemText(p, flags, new Map())).to.equal(
      '--workers 4 (default): must be at most --flows (2); each worker needs a flow',
    );
  });

  it('names the item of a comma list, takes each occurrence of a repeated flag as it is, quotes where asked', () => {
    expect(
      problemText(
        { path: 'sizes[1]', value: 8, message: 'must be an integer in 48..65527' },
        flags,
        new Map([['--size', '64,8']]),
      ),
    ).to.equal('--size 64,8: 8 must be an integer in 48..65527');
    expect(
      problemText(
        { path: 'bind[1]', value: '0.0.0.0', message: 'must not be a wildcard address' },
        flags,
        new Map([['--bind', '::1,0.0.0.0']]),
      ),
    ).to.equal('--bind 0.0.0.0: must not be a wildcard address');
    expect(
      problemText({ path: 'thresholds[0]', value: 'p99<2', message: 'needs a unit' }, flags, new Map()),
    ).to.equal("--threshold 'p99<2': needs a unit");
  });

  it('keeps a field the command has no flag for as the library names it', () => {
    expect(
      problemText(
        { path: 'search.resolution', value: 5, message: 'must be a number in 0.001..1' },
        flags,
        new Map(),
      ),
    ).to.equal('search.resolution 5 (default): must be a number in 0.001..1');
  });

  it('writes times and rates as the flags take them', () => {
    expect([msText(100), msText(1500), msText(60_000), msText(3_600_000)]).to.deep.equal([
      '100ms',
      '1.5s',
      '60s',
      '1h',
    ]);
    expect([usText(1), usText(2500), usText(60_000_000)]).to.deep.equal(['1us', '2.5ms', '60s']);
    expect([rateText(0.001), rateText(50_000), rateText(10_000_000)]).to.deep.equal([
      '0.001/s',
      '50k/s',
      '10M/s',
    ]);
  });
});
