import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAULTY_SERVERS, type RunningFixture } from './fixtures/faulty-servers.js';
import { runCli, verdictsOf } from './helpers/cli.js';

const idsWith = (verdicts: Map<string, string>, verdict: string): string[] =>
  [...verdicts]
    .filter(([, v]) => v === verdict)
    .map(([id]) => id)
    .sort();

describe('the conformance catalogue against faulty fixture servers', function () {
  let reports: string;
  before(() => {
    reports = mkdtempSync(join(tmpdir(), 'echolot-fixtures-'));
  });
  after(() => rmSync(reports, { recursive: true, force: true }));

  for (const fixture of FAULTY_SERVERS) {
    describe(`${fixture.name} (${fixture.defect})`, () => {
      let server: RunningFixture;
      before(async () => {
        server = await fixture.start();
      });
      after(() => server.close());
      const target = (): string => `${fixture.checkAddress ?? server.address}:${server.port}`;

      it(`grades exactly ${[...fixture.fails.map((id) => `${id} FAIL`), ...fixture.nonStrict.map((id) => `${id} NON-STRICT`)].join(', ')}`, async () => {
        const r = await runCli([
          'check',
          target(),
          ...(fixture.checkArgs ?? []),
          '--json',
          '--report-dir',
          reports,
        ]);
        expect(r.stderr, 'stderr').to.not.match(/internal error|at .*\.js:\d+/);
        const verdicts = verdictsOf(r.stdout);
        expect(idsWith(verdicts, 'FAIL'), `FAIL cases\n${r.stderr}`).to.deep.equal([...fixture.fails].sort());
        expect(idsWith(verdicts, 'NON-STRICT'), 'NON-STRICT cases').to.deep.equal(
          [...fixture.nonStrict].sort(),
        );
        expect(idsWith(verdicts, 'ERROR'), 'ERROR cases').to.deep.equal([]);
        expect(r.code, 'exit code').to.equal(fixture.fails.length > 0 ? 1 : 0);
      });

      if (fixture.checkArgs?.includes('--no-preflight')) {
        it('is called unreachable by the preflight (exit 69) without --no-preflight', async () => {
          const r = await runCli(['check', target(), '--report-dir', reports]);
          expect(r.code).to.equal(69);
          expect(r.stderr).to.match(/^echolot: no reply from udp\/\d+ at 127\.0\.0\.1 after 3 attempts/);
        });
      }

      if (fixture.nonStrict.length > 0) {
        it('turns its NON-STRICT findings into FAIL with --strict (exit 1)', async () => {
          const only = fixture.nonStrict.join(',');
          const r = await runCli([
            'check',
            target(),
            '--strict',
            '--only',
            only,
            '--json',
            '--report-dir',
            reports,
          ]);
          const verdicts = verdictsOf(r.stdout);
          expect(idsWith(verdicts, 'FAIL')).to.deep.equal([...fixture.nonStrict].sort());
          expect(r.code).to.equal(1);
        });
      }
    });
  }
});
