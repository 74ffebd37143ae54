import { expect } from 'chai';
import { CATALOGUE } from '../../suites/conformance/catalogue.js';
import { matchesPattern, selectCases } from '../../harness/check/selection.js';
import { HarnessError } from '../../harness/errors.js';

describe('case selection', () => {
  it('matches exact IDs, whole sections and globs', () => {
    expect(matchesPattern('3.1', '3.1')).to.equal(true);
    expect(matchesPattern('3.2', '3.1')).to.equal(false);
    expect(matchesPattern('3.2', '3')).to.equal(true);
    expect(matchesPattern('13.2', '3')).to.equal(false);
    expect(matchesPattern('3.2', '3.*')).to.equal(true);
    expect(matchesPattern('4.2', '3.*')).to.equal(false);
    expect(matchesPattern('10.1', '*')).to.equal(true);
    expect(matchesPattern('1.10', '1.1')).to.equal(false);
  });

  it('selects everything by default and subtracts --exclude', () => {
    expect(selectCases(CATALOGUE, [], [])).to.have.length(CATALOGUE.length);
    const ids = selectCases(CATALOGUE, ['1', '2.*'], ['1.2', '2.5']).map((c) => c.id);
    expect(ids).to.deep.equal(['1.1', '1.3', '1.4', '2.1', '2.2', '2.3', '2.4', '2.6']);
  });

  it('rejects an empty selection with ERR_ECHOLOT_EMPTY_SELECTION (exit 64)', () => {
    try {
      selectCases(CATALOGUE, ['1.1'], ['1.*']);
      expect.fail('expected an error');
    } catch (err) {
      expect(err).to.be.instanceOf(HarnessError);
      expect((err as HarnessError).code).to.equal('ERR_ECHOLOT_EMPTY_SELECTION');
      expect((err as HarnessError).exitCode).to.equal(64);
    }
  });

  it('rejects malformed patterns naming the option and the value', () => {
    expect(() => selectCases(CATALOGUE, ['1.1', 'x'], [])).to.throw(
      HarnessError,
      /--only x: must be case IDs or globs/,
    );
  });
});
