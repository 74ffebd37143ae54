import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReferenceServerChild, type ChildServer } from '../../harness/target/child-server.js';
import { diesOnFirstLarge } from '../fixtures/servers/dies-on-first-large.js';
import { runCli, verdictsOf, type CliResult } from '../helpers/cli.js';

/** The JSON summary's run times and each case's verdict and message. */
interface SummaryDoc {
  readonly results: {
    readonly summary: { readonly start: number; readonly stop: number };
    readonly tests: readonly { readonly message: string; readonly extra: { id: string; verdict: string } }[];
  };
}

const ids = (r: CliResult, verdict: string): string[] =>
  [...verdictsOf(r.stdout)].filter(([, v]) => v === verdict).map(([id]) => id);

describe('a run against a target that dies, and runs that share a target', function () {
  let reports: string;
  before(() => {
    reports = mkdtempSync(join(tmpdir(), 'echolot-health-'));
  });
  after(() => rmSync(reports, { recursive: true, force: true }));

  it('names the case that killed the target, does not run the rest, and ends instead of waiting out timeouts', async function () {
    this.timeout(120_000);
    const server = await diesOnFirstLarge.start();
    try {
      const r = await runCli(
        ['check', `${server.address}:${server.port}`, '--json', '--report-dir', reports],
        110_000,
      );
      expect(r.code, r.stderr).to.equal(1);
      expect(ids(r, 'FAIL')).to.deep.equal(['2.5']);
      const doc = JSON.parse(r.stdout) as SummaryDoc;
      const killer = doc.results.tests.find((t) => t.extra.id === '2.5');
      expect(killer?.message).to.match(/stopped answering after the \d+-byte datagram .* of case 2\.5/);
      const notRun = ids(r, 'NOT-RUN');
      expect(notRun.length, 'cases not run').to.be.above(20);
      for (const t of doc.results.tests.filter((x) => x.extra.verdict === 'NOT-RUN')) {
        expect(t.message, t.extra.id).to.match(/not run: the target is down since case 2\.5/);
      }
      // A dead target is known after one liveness check: the run does not wait out every case's retries.
      const seconds = (doc.results.summary.stop - doc.results.summary.start) / 1000;
      expect(seconds, 'seconds the run took').to.be.below(30);
    } finally {
      await server.close();
    }
  });

  it('three checks side by side against one reference server: none judges the others’ datagrams', async function () {
    this.timeout(300_000);
    let server: ChildServer | undefined;
    try {
      server = await startReferenceServerChild();
      const target = `127.0.0.1:${server.port}`;
      const runs = await Promise.all(
        [1, 2, 3].map(() => runCli(['check', target, '--json', '--report-dir', reports], 280_000)),
      );
      for (const [i, r] of runs.entries()) {
        const wrong = [...verdictsOf(r.stdout)].filter(([, v]) =>
          ['FAIL', 'NON-STRICT', 'ERROR'].includes(v),
        );
        expect(wrong, `run ${i + 1}: ${r.stderr}`).to.deep.equal([]);
        expect(r.code, `run ${i + 1}`).to.equal(0);
      }
    } finally {
      await server?.close();
    }
  });
});
