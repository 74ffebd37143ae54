import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { FaultyServer } from '../fixtures/fixture-server.js';
import { FAULTY_SERVERS } from '../fixtures/servers/index.js';
import { runCli, verdictsOf, type CliResult } from '../helpers/cli.js';
import { skipBecause } from '../helpers/skip.js';

/**
 * Fixture checks that run at once. Checks side by side on one host can hear each other (a port one
 * closes, another gets), but each run's ledger tells its own datagrams from the others' (foreign:
 * counted, never blamed), so they do not misjudge each other.
 */
const CHECKS_AT_ONCE = 4;

/**
 * Fixtures whose check takes longest (30-60 s each, most of it waiting out retries), started first so
 * that the shorter ones fill in around them rather than leave one of them running alone at the end.
 */
const SLOWEST_FIRST = [
  'batch-off-by-one',
  'wildcard-bound-via-alias',
  'payload-cache',
  'pad-to-64',
  'shared-peer',
];
const byCheckTime = (a: FaultyServer, b: FaultyServer): number => {
  const rank = (f: FaultyServer): number => {
    const i = SLOWEST_FIRST.indexOf(f.name);
    return i < 0 ? SLOWEST_FIRST.length : i;
  };
  return rank(a) - rank(b);
};

/** Bound on one check of a fixture: a defect that loses every reply makes every exchange wait out its retries. */
const CHECK_TIMEOUT_MS = 180_000;

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
    const full = await runCli(
      [
        'check',
        target,
        ...(fixture.checkArgs ?? []),
        ...(server.checkArgs ?? []),
        '--json',
        '--report-dir',
        reports,
      ],
      CHECK_TIMEOUT_MS,
    );
    const withPreflight = needsPreflightRun(fixture)
      ? await runCli(['check', target, '--json', '--report-dir', reports])
      : undefined;
    const strict =
      fixture.nonStrict.length > 0
        ? await runCli([
            'check',
            target,
            ...(server.checkArgs ?? []),
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
    for (const fixture of [...FAULTY_SERVERS].sort(byCheckTime)) {
      if (fixture.unavailable?.() !== undefined) continue;
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
      beforeEach(function () {
        const why = fixture.unavailable?.();
        if (why !== undefined) skipBecause(this, why);
      });

      it(`grades exactly ${[...fixture.fails.map((id) => `${id} FAIL`), ...fixture.nonStrict.map((id) => `${id} NON-STRICT`)].join(', ')}`, async function () {
        this.timeout(15 * 60_000); // waits for its turn among the fixtures checked at once
        const r = (await runsOf(fixture)).full;
        expect(r.stderr, 'stderr').to.not.match(/internal error|at .*\.js:\d+/);
        const verdicts = verdictsOf(r.stdout);
        const failing = idsWith(verdicts, 'FAIL');
        const messages = new Map(
          (
            JSON.parse(r.stdout) as { results: { tests: { message: string; extra: { id: string } }[] } }
          ).results.tests.map((t) => [t.extra.id, t.message]),
        );
        // A further FAIL is allowed only as this fixture's own defect met in another case (sameDefect).
        const further = failing.filter(
          (id) => !fixture.fails.includes(id) && !(fixture.sameDefect?.test(messages.get(id) ?? '') ?? false),
        );
        expect(
          failing.filter((id) => fixture.fails.includes(id) || further.includes(id)),
          `FAIL cases\n${r.stderr}`,
        ).to.deep.equal([...fixture.fails].sort());
        expect(idsWith(verdicts, 'NON-STRICT'), 'NON-STRICT cases').to.deep.equal(
          [...fixture.nonStrict].sort(),
        );
        expect(idsWith(verdicts, 'ERROR'), 'ERROR cases').to.deep.equal([]);
        expect(r.code, 'exit code').to.equal(fixture.fails.length > 0 ? 1 : 0);
      });

      const findings = Object.entries(fixture.findings ?? {});
      if (findings.length > 0) {
        it(`finds ${findings.map(([id]) => id).join(', ')}`, async () => {
          const doc = JSON.parse((await runsOf(fixture)).full.stdout) as {
            results: { tests: { message: string; extra: { id: string; verdict: string } }[] };
          };
          for (const [id, pattern] of findings) {
            const t = doc.results.tests.find((x) => x.extra.id === id);
            expect(t?.extra.verdict, `${id} verdict`).to.equal(fixture.fails.includes(id) ? 'FAIL' : 'INFO');
            expect(t?.message, `${id} finding`).to.match(pattern);
          }
        });
      }

      if (needsPreflightRun(fixture)) {
        it('is named by the preflight without --no-preflight: its silence FAILs 1.1 or 1.3, the rest is not run (exit 1)', async () => {
          const r = (await runsOf(fixture)).withPreflight;
          expect(r?.code, r?.stderr).to.equal(1);
          const verdicts = verdictsOf(r?.stdout ?? '{}');
          const failed = idsWith(verdicts, 'FAIL');
          expect(failed).to.have.length(1);
          expect(['1.1', '1.3']).to.include(failed[0]);
          expect(idsWith(verdicts, 'NOT-RUN')).to.have.length(verdicts.size - 1);
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
