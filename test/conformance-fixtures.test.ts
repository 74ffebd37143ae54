import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { FAULTY_SERVERS, type FaultyServer } from './fixtures/faulty-servers.js';
import { runCli, verdictsOf, type CliResult } from './helpers/cli.js';

/**
 * Fixture checks that run at once: one. Checks side by side on one host hear each other: case 10.1
 * closes 1000 clients before their replies arrive, the kernel hands those ports to the next sockets
 * opened anywhere on the host, and another check's case then receives a stranger's reply.
 */
const CHECKS_AT_ONCE = 1;

const idsWith = (verdicts: Map<string, string>, verdict: string): string[] =>
  [...verdicts]
    .filter(([, v]) => v === verdict)
    .map(([id]) => id)
    .sort();

/** What the CLI said about one fixture: the full check, and the extra runs its shape calls for. */
interface FixtureRuns {
  readonly full: CliResult;
  readonly withPreflight?: CliResult;
  readonly strict?: CliResult;
}

const needsPreflightRun = (f: FaultyServer): boolean => f.checkArgs?.includes('--no-preflight') ?? false;

/** Starts the fixture, runs every check it needs (one after another), and stops it. */
async function checkFixture(fixture: FaultyServer, reports: string): Promise<FixtureRuns> {
  const server = await fixture.start();
  try {
    const target = `${fixture.checkAddress ?? server.address}:${server.port}`;
    const full = await runCli([
      'check',
      target,
      ...(fixture.checkArgs ?? []),
      '--json',
      '--report-dir',
      reports,
    ]);
    const withPreflight = needsPreflightRun(fixture)
      ? await runCli(['check', target, '--report-dir', reports])
      : undefined;
    const strict =
      fixture.nonStrict.length > 0
        ? await runCli([
            'check',
            target,
            '--strict',
            '--only',
            fixture.nonStrict.join(','),
            '--json',
            '--report-dir',
            reports,
          ])
        : undefined;
    return {
      full,
      ...(withPreflight === undefined ? {} : { withPreflight }),
      ...(strict === undefined ? {} : { strict }),
    };
  } finally {
    await server.close();
  }
}

describe('the conformance catalogue against faulty fixture servers', function () {
  let reports: string;
  const runs = new Map<string, Promise<FixtureRuns>>();
  before(() => {
    reports = mkdtempSync(join(tmpdir(), 'echolot-fixtures-'));
    const limit = pLimit(CHECKS_AT_ONCE);
    for (const fixture of FAULTY_SERVERS) {
      const run = limit(() => checkFixture(fixture, reports));
      run.catch(() => undefined); // reported by the fixture's own test, not as an unhandled rejection
      runs.set(fixture.name, run);
    }
  });
  after(async () => {
    await Promise.allSettled(runs.values());
    rmSync(reports, { recursive: true, force: true });
  });

  const runsOf = (fixture: FaultyServer): Promise<FixtureRuns> => {
    const run = runs.get(fixture.name);
    if (!run) throw new Error(`no runs for fixture ${fixture.name}`);
    return run;
  };

  for (const fixture of FAULTY_SERVERS) {
    describe(`${fixture.name} (${fixture.defect})`, () => {
      it(`grades exactly ${[...fixture.fails.map((id) => `${id} FAIL`), ...fixture.nonStrict.map((id) => `${id} NON-STRICT`)].join(', ')}`, async function () {
        this.timeout(15 * 60_000); // waits for its turn among the fixtures checked at once
        const r = (await runsOf(fixture)).full;
        expect(r.stderr, 'stderr').to.not.match(/internal error|at .*\.js:\d+/);
        const verdicts = verdictsOf(r.stdout);
        const optional = new Set(fixture.mayFail ?? []);
        expect(
          idsWith(verdicts, 'FAIL').filter((id) => !optional.has(id)),
          `FAIL cases\n${r.stderr}`,
        ).to.deep.equal([...fixture.fails].sort());
        expect(idsWith(verdicts, 'NON-STRICT'), 'NON-STRICT cases').to.deep.equal(
          [...fixture.nonStrict].sort(),
        );
        expect(idsWith(verdicts, 'ERROR'), 'ERROR cases').to.deep.equal([]);
        expect(r.code, 'exit code').to.equal(fixture.fails.length > 0 ? 1 : 0);
      });

      if (needsPreflightRun(fixture)) {
        it('is called unreachable by the preflight (exit 69) without --no-preflight', async () => {
          const r = (await runsOf(fixture)).withPreflight;
          expect(r?.code).to.equal(69);
          expect(r?.stderr).to.match(/^echolot: no reply from udp\/\d+ at 127\.0\.0\.1 after 3 attempts/);
        });
      }

      if (fixture.nonStrict.length > 0) {
        it('turns its NON-STRICT findings into FAIL with --strict (exit 1)', async () => {
          const r = (await runsOf(fixture)).strict;
          expect(r, 'the --strict run').to.not.equal(undefined);
          const verdicts = verdictsOf(r?.stdout ?? '{}');
          expect(idsWith(verdicts, 'FAIL')).to.deep.equal([...fixture.nonStrict].sort());
          expect(r?.code).to.equal(1);
        });
      }
    });
  }
});
