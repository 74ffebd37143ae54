import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { largestEchoed, type SizeProbe } from '../harness/probes/binary-search.js';
import { CORE_SERVERS } from './fixtures/core-servers.js';
import type { RunningFixture } from './fixtures/fixture-server.js';
import { runCli } from './helpers/cli.js';

/** A probe for a server that echoes sizes up to `limit` and truncates the rest. */
const upTo =
  (limit: number) =>
  (size: number): Promise<SizeProbe> =>
    Promise.resolve({
      size,
      echoed: size <= limit,
      detail: size <= limit ? 'identical' : 'truncated',
      attempts: 1,
    });

describe('largestEchoed', () => {
  it('finds the limit of a truncating server within 18 probes', async () => {
    for (const limit of [0, 1, 511, 1024, 1472, 65506]) {
      const found = await largestEchoed(65507, upTo(limit));
      expect(found.largest, `limit ${limit}`).to.equal(limit);
      expect(found.firstNotEchoed?.size, `limit ${limit}`).to.equal(limit + 1);
      expect(found.probes.length, `limit ${limit}`).to.be.at.most(18);
    }
  });

  it('needs one probe when the maximum comes back', async () => {
    const found = await largestEchoed(65507, upTo(65507));
    expect(found.largest).to.equal(65507);
    expect(found.probes.map((p) => p.size)).to.deep.equal([65507]);
  });

  it('reports undefined when not even 0 bytes come back', async () => {
    const found = await largestEchoed(65507, upTo(-1));
    expect(found.largest).to.equal(undefined);
    expect(found.firstNotEchoed?.size).to.equal(0);
  });
});

describe('case 3.4 against truncate-1024', () => {
  let server: RunningFixture;
  let reports: string;
  before(async () => {
    reports = mkdtempSync(join(tmpdir(), 'echolot-3-4-'));
    const fixture = CORE_SERVERS.find((f) => f.name === 'truncate-1024');
    if (!fixture) throw new Error('fixture truncate-1024 is missing');
    server = await fixture.start();
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
