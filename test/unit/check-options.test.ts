import { expect } from 'chai';
import { resolveCheckOptions } from '../../harness/conformance/options.js';

describe('check options: the target process (--target-pid)', () => {
  it('takes a process id and leaves it unset by default', () => {
    expect(resolveCheckOptions({ targetPid: 42 }).targetPid).to.equal(42);
    expect(resolveCheckOptions({}).targetPid).to.equal(undefined);
  });

  it('rejects what cannot be a Linux pid, naming the field, the range and the value', () => {
    for (const bad of [0, -1, 1.5, 0x400000]) {
      expect(() => resolveCheckOptions({ targetPid: bad })).to.throw(
        `targetPid ${bad}: must be an integer in 1..4194303`,
      );
    }
  });
});
