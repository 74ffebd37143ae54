import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningFixture } from '../fixtures/fixture-server.js';
import { truncate1024 } from '../fixtures/servers/truncate-1024.js';
import { runCli } from '../helpers/cli.js';

describe('case 3.4 against truncate-1024', () => {
  let server: RunningFixture;
  let reports: string;
  before(async () => {
    reports = mkdtempSync(join(tmpdir(), 'echolot-3-4-'));
    server = await truncate1024.start();
  });
  after(async () => {
    await server.close();
    rmSync(reports, { recursive: true, force: true });
  });

  it('reports 1024 as the largest size echoed, with the probe sizes in the evidence', async () => {
    const r = await runCli([
      'check',
      `127.0.0.1:${server.port}`,
      '--only',
      '3.4',
      '--json',
      '--report-dir',
      reports,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout) as {
      results: {
        tests: {
          message: string;
          extra: { id: string; verdict: string; evidence: { probes: { size: number }[] } };
        }[];
      };
    };
    const t = doc.results.tests.find((x) => x.extra.id === '3.4');
    expect(t?.extra.verdict).to.equal('INFO');
    expect(t?.message).to.match(
      /^largest size echoed: 1024 bytes of 0\.\.65507 \(1025 bytes: truncated to 1024 bytes/,
    );
    const sizes = t?.extra.evidence.probes.map((p) => p.size) ?? [];
    expect(sizes[0]).to.equal(65507);
    expect(sizes).to.include(1025);
    expect(sizes.length).to.be.at.most(18);
  });
});
