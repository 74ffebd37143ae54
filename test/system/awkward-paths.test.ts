/**
 * Whole-catalogue checks of correct servers that are slow, far, lossy or jittery, and of the
 * reference server behind a bad path (the impairment bridge between test hosts). A correct server
 * must never FAIL for being awkward. The checks mostly wait, so they run side by side; each test
 * awaits its own.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { staticCapabilities } from '../../harness/net/capabilities.js';
import { CASES } from '../../suites/conformance/catalogue.js';
import { startReferenceServerIn, type NamespacedServer } from '../../harness/testhost/reference-in-netns.js';
import { AWKWARD_SERVERS, type AwkwardServer } from '../fixtures/awkward/index.js';
import { runCli, verdictsOf, type CliResult } from '../helpers/cli.js';
import {
  bridgeBinary,
  createImpairedHost,
  hasCompiler,
  type ImpairedHost,
} from '../support/impaired-path.js';

/** The verdicts that would say a correct server is wrong. */
const WRONG = ['FAIL', 'NON-STRICT', 'ERROR'];

/** Bound on one check: the one-at-a-time server takes about three minutes. */
const CHECK_TIMEOUT_MS = 9 * 60_000;

/** Seed of the bridge; replay a run with ECHOLOT_IMPAIR_SEED. */
const SEED = Number(process.env['ECHOLOT_IMPAIR_SEED'] ?? randomInt(2 ** 30));

/** A bad path, in both directions: 2% loss, 50 ± 10 ms delay, 1% duplication, 25% reordering. */
const BAD_PATH = { loss: 0.02, delayMs: 50, jitterMs: 10, duplicate: 0.01, reorder: 0.25 } as const;

/**
 * The checks through the bridge, step after step (the checks of one step would run side by side):
 * the first step checks the whole catalogue (50 runs of each property case: the path makes every
 * run slow); the next one runs the cases of large datagrams right after it, which find whatever the
 * first left in the target host's reassembly memory. ECHOLOT_IMPAIRED_CHECKS=5 makes them five
 * whole-catalogue checks in a row, for a soak.
 */
const SOAK = Number(process.env['ECHOLOT_IMPAIRED_CHECKS'] ?? 0);
const IMPAIRED_STEPS: readonly (readonly (readonly string[])[])[] =
  SOAK > 0
    ? Array.from({ length: SOAK }, () => [[]])
    : [[['--runs', '50']], [['--only', '2.5,3.1,3.2,3.4,9.1,10.3', '--runs', '30']]];

/** Why the impaired path cannot run here, or undefined. */
function impairedSkipReason(): string | undefined {
  if (!staticCapabilities().netns) return 'needs root (CAP_NET_ADMIN) and iproute2 for the test host';
  if (!hasCompiler()) return 'no C compiler (cc) on PATH for the bridge; .ci/run installs gcc as root';
  return undefined;
}

/** The findings of a check that would call a correct server wrong, one line each. */
function wrongVerdicts(r: CliResult): string[] {
  const doc = JSON.parse(r.stdout) as {
    results: { tests: { message: string; extra: { id: string; verdict: string } }[] };
  };
  return doc.results.tests
    .filter((t) => WRONG.includes(t.extra.verdict))
    .map((t) => `${t.extra.id} ${t.extra.verdict}: ${t.message}`);
}

/** One check of `server` (a fresh instance) with `args`. */
async function checkOne(server: AwkwardServer, args: readonly string[], reports: string): Promise<CliResult> {
  const running = await server.start();
  try {
    return await runCli(
      ['check', `${running.address}:${running.port}`, ...args, '--json', '--report-dir', reports],
      CHECK_TIMEOUT_MS,
    );
  } finally {
    await running.close();
  }
}

/** Checks the server with the whole catalogue: at once, or in its parts side by side (one instance each). */
async function checkAwkward(server: AwkwardServer, reports: string): Promise<CliResult[]> {
  if (server.parts === undefined) return [await checkOne(server, [], reports)];
  return Promise.all(server.parts.map((only) => checkOne(server, ['--only', only], reports)));
}

/** The reference server behind the bridge, checked step by step (IMPAIRED_STEPS). */
async function checkImpaired(reports: string): Promise<CliResult[][]> {
  await bridgeBinary();
  let host: ImpairedHost | undefined;
  let server: NamespacedServer | undefined;
  try {
    host = await createImpairedHost(BAD_PATH, { seed: SEED });
    server = await startReferenceServerIn(host, { bind: [host.address] });
    const target = `${host.address}:${server.port}`;
    const steps: CliResult[][] = [];
    for (const step of IMPAIRED_STEPS) {
      steps.push(
        await Promise.all(
          step.map((args) =>
            runCli(
              // The test host is this test's own: its floods run as they would on loopback.
              ['check', target, '--i-own-the-target', ...args, '--json', '--report-dir', reports],
              CHECK_TIMEOUT_MS,
            ),
          ),
        ),
      );
    }
    return steps;
  } finally {
    await server?.stop();
    await host?.remove();
  }
}

describe('the whole catalogue against correct but awkward servers and paths (slow, far, lossy, jittery)', function () {
  let reports: string;
  const runs = new Map<string, Promise<CliResult[]>>();
  const skipImpaired = impairedSkipReason();
  let impaired: Promise<CliResult[][]> | undefined;
  before(() => {
    reports = mkdtempSync(join(tmpdir(), 'echolot-awkward-'));
    for (const server of AWKWARD_SERVERS) {
      const run = checkAwkward(server, reports);
      run.catch(() => undefined); // reported by the server's own test
      runs.set(server.name, run);
    }
    if (!skipImpaired) {
      impaired = checkImpaired(reports);
      impaired.catch(() => undefined);
    }
  });
  after(async function () {
    this.timeout(2 * CHECK_TIMEOUT_MS);
    await Promise.allSettled([...runs.values(), impaired]);
    rmSync(reports, { recursive: true, force: true });
  });

  for (const server of AWKWARD_SERVERS) {
    it(`passes ${server.name} (${server.awkwardness}): exit 0, no FAIL, NON-STRICT or ERROR`, async function () {
      this.timeout(CHECK_TIMEOUT_MS + 60_000);
      const checks = await runs.get(server.name);
      if (!checks) throw new Error(`no check of ${server.name}`);
      for (const r of checks) {
        expect(wrongVerdicts(r), r.stderr).to.deep.equal([]);
        expect(r.code, r.stderr).to.equal(0);
      }
      // The parts together graded the whole catalogue, each case once.
      const ids = checks.flatMap((r) => [...verdictsOf(r.stdout).keys()]);
      expect(ids.length, 'cases graded').to.equal(CASES.length);
      expect(new Set(ids).size, 'each case once').to.equal(ids.length);
    });
  }

  IMPAIRED_STEPS.forEach((step, i) => {
    const whole = step.length > 1 || !(step[0] ?? []).includes('--only');
    const what = whole
      ? 'the whole catalogue'
      : `the large-datagram cases (${step.map((args) => args.join(' ')).join('; ')})`;
    it(`passes the reference server behind 2% loss, 50 ± 10 ms, 1% duplication, 25% reordering, check ${i + 1} of ${IMPAIRED_STEPS.length} (${what}${i > 0 ? ', right after the previous one' : ''}): no FAIL, NON-STRICT or ERROR, exit 0`, async function () {
      if (skipImpaired) {
        console.log(`      skipped: ${skipImpaired}`);
        this.skip();
      }
      this.timeout(IMPAIRED_STEPS.length * CHECK_TIMEOUT_MS + 120_000);
      const checks = (await impaired)?.[i];
      if (!checks) throw new Error('no check through the impaired path');
      const replay = `bridge seed ${SEED} (replay: ECHOLOT_IMPAIR_SEED=${SEED})`;
      for (const r of checks) {
        expect(wrongVerdicts(r), `${replay}\n${r.stderr}`).to.deep.equal([]);
        expect(r.code, `${replay}\n${r.stderr}`).to.equal(0);
      }
      if (whole) {
        const ids = checks.flatMap((r) => [...verdictsOf(r.stdout).keys()]);
        expect(ids.length, 'cases graded').to.equal(CASES.length);
      }
    });
  });
});
