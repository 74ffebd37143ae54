import { expect } from 'chai';
import { CASES } from '../../suites/conformance/catalogue.js';
import { floodRefusal } from '../../harness/conformance/flood.js';
import { resolveCheckOptions } from '../../harness/conformance/options.js';
import { gradeCase, refuseCase } from '../../harness/check/run-case.js';
import { ownsTarget } from '../../harness/target/ownership.js';
import type { Target } from '../../harness/target/acquire.js';
import { HarnessError } from '../../harness/errors.js';

/** A target that is only judged here: nothing is sent to it. */
const target = (address: string, embedded = false): Target => ({
  input: `${address}:7`,
  host: address,
  port: 7,
  address,
  family: address.includes(':') ? 'IPv6' : 'IPv4',
  embedded,
});

const REMOTE = target('192.0.2.1');
const REASON =
  'floods a target this run does not own (192.0.2.1 is not a loopback address): give --i-own-the-target to run it';

describe('floods only of targets the run owns', () => {
  it("owns the embedded server, 127/8 and ::1, and any other address only by the user's word", () => {
    expect(ownsTarget(target('127.0.0.1', true), false)).to.equal(true);
    expect(ownsTarget(target('127.0.0.1'), false)).to.equal(true);
    expect(ownsTarget(target('127.1.2.3'), false)).to.equal(true);
    expect(ownsTarget(target('::1'), false)).to.equal(true);
    expect(ownsTarget(target('::ffff:127.0.0.1'), false)).to.equal(true);
    expect(ownsTarget(REMOTE, false)).to.equal(false);
    expect(ownsTarget(target('2001:db8::1'), false)).to.equal(false);
    expect(ownsTarget(target('10.0.0.7'), false)).to.equal(false);
    // A test host's address (198.18.0.0/15, 2001:2::/48) is owned by the run that made it, which says so.
    expect(ownsTarget(target('198.18.4.2'), false)).to.equal(false);
    expect(ownsTarget(target('2001:2::2'), false)).to.equal(false);
    expect(ownsTarget(target('198.18.4.2'), true)).to.equal(true);
    expect(ownsTarget(REMOTE, true)).to.equal(true);
  });

  it('gives the reason a flood may not run against 192.0.2.1, and none once the user owns it', () => {
    const options = resolveCheckOptions({ target: '192.0.2.1:7' });
    expect(options.ownTarget).to.equal(false);
    expect(floodRefusal(REMOTE, options)).to.equal(REASON);
    expect(floodRefusal(REMOTE, resolveCheckOptions({ target: '192.0.2.1:7', ownTarget: true }))).to.equal(
      undefined,
    );
    expect(floodRefusal(target('127.0.0.1', true), options)).to.equal(undefined);
  });

  it('grades every case that floods UNSUPPORTED against a target the run does not own, unrun; the others run', () => {
    const options = resolveCheckOptions({ target: '192.0.2.1:7' });
    const owned = resolveCheckOptions({ target: '192.0.2.1:7', ownTarget: true });
    const floods = CASES.filter((c) => c.disturbs === 'flood').map((c) => c.id);
    expect(floods).to.deep.equal(['7.5', '7.6', '10.1', '10.2', '10.3', '10.4']);
    for (const c of CASES) {
      const record = refuseCase(c, 'section', REMOTE, options);
      expect(refuseCase(c, 'section', REMOTE, owned), c.id).to.equal(undefined);
      expect(refuseCase(c, 'section', target('127.0.0.1'), options), c.id).to.equal(undefined);
      if (!floods.includes(c.id)) {
        expect(record, c.id).to.equal(undefined);
        continue;
      }
      expect(record?.durationMs, c.id).to.equal(0);
      const result = gradeCase(record ?? expect.fail(c.id), { list: [], total: 0 }, false);
      expect(result.verdict, c.id).to.equal('UNSUPPORTED');
      expect(result.message, c.id).to.equal(REASON);
    }
  });

  it('declares every case that floods: a case whose run floods says `disturbs: flood`', () => {
    for (const c of CASES) {
      const body = c.run.toString();
      if (/\bflood(At)?\(/.test(body)) expect(c.disturbs, `${c.id} floods`).to.equal('flood');
    }
  });

  it('takes ownTarget as a boolean only', () => {
    let err: unknown;
    try {
      resolveCheckOptions({ ownTarget: 'yes' as unknown as boolean });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(HarnessError);
    expect((err as HarnessError).problems?.map((p) => p.path)).to.deep.equal(['ownTarget']);
  });
});
