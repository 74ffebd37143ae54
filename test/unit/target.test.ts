import { expect } from 'chai';
import { parseTarget, resolveTarget } from '../../harness/target/target.js';
import { HarnessError } from '../../harness/errors.js';
import { formatEndpoint } from '../../harness/core/address.js';

describe('target parsing', () => {
  it('parses IPv4, bracketed IPv6 and host names', () => {
    expect(parseTarget('127.0.0.1:7')).to.deep.include({ host: '127.0.0.1', port: 7 });
    expect(parseTarget('[::1]:9007')).to.deep.include({ host: '::1', port: 9007 });
    expect(parseTarget('[fe80::1%eth0]:7')).to.deep.include({ host: 'fe80::1%eth0', port: 7 });
    expect(parseTarget('localhost:65535')).to.deep.include({ host: 'localhost', port: 65535 });
  });

  for (const [input, message] of [
    ['127.0.0.1', /must be HOST:PORT/],
    ['127.0.0.1:0', /port must be an integer in 1\.\.65535, got '0'/],
    ['127.0.0.1:70000', /got '70000'/],
    ['127.0.0.1:7x', /got '7x'/],
    ['::1:7', /brackets/],
    ['[nothex]:7', /not an IPv6 address/],
    ['bad host!:7', /is not an IP address or host name/],
  ] as const) {
    it(`rejects ${input} with a usage error naming the value`, () => {
      expect(() => parseTarget(input)).to.throw(HarnessError, message);
    });
  }

  it('resolves literals without a lookup and names to an address', async () => {
    expect(await resolveTarget(parseTarget('[::1]:7'))).to.deep.include({ address: '::1', family: 'IPv6' });
    const local = await resolveTarget(parseTarget('localhost:7'));
    expect(local.address).to.match(/^(127\.0\.0\.1|::1)$/);
  });

  it('fails an unknown name with ERR_ECHOLOT_RESOLVE (exit 69)', async () => {
    const err = await resolveTarget(parseTarget('nosuch.invalid:7')).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HarnessError);
    expect((err as HarnessError).code).to.equal('ERR_ECHOLOT_RESOLVE');
    expect((err as HarnessError).exitCode).to.equal(69);
  });

  it('formats endpoints with IPv6 in brackets', () => {
    expect(formatEndpoint('::1', 7)).to.equal('[::1]:7');
    expect(formatEndpoint('127.0.0.2', 7)).to.equal('127.0.0.2:7');
  });
});
