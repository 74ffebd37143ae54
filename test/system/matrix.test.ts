import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parseMatrixConfig } from '../../harness/matrix/config.js';
import { staticCapabilities } from '../../harness/net/capabilities.js';
import type { MatrixResult } from '../../harness/matrix/run-matrix.js';
import { runCli } from '../helpers/cli.js';

/** The checked-in config (the test runs from dist/test/, the config lives in the source tree). */
const CONFIG = fileURLToPath(new URL('../../../interop/debian.json', import.meta.url));

/**
 * A subset of the checked-in matrix that still shows each kind of finding: cheap enough to run twice
 * in CI. 3.3, 4.3, 7.4, 8.2, 8.3 and 10.4 need what only the test host gives (IPv6 and link-local
 * addresses, further addresses, a raw socket, the server's pid).
 */
const TARGETS = ['reference', 'openbsd-inetd', 'node-naive'];
const CASES = ['1.1', '1.2', '3.1', '3.3', '3.4', '4.3', '4.4', '7.1', '7.2', '7.4', '8.2', '8.3', '10.4'];

describe('echolot matrix', function () {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'echolot-matrix-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('config validation', () => {
    it('accepts the checked-in config', () => {
      const config = parseMatrixConfig(JSON.parse(readFileSync(CONFIG, 'utf8')), CONFIG);
      expect(config.targets.map((t) => t.name)).to.include.members([...TARGETS, 'socat', 'ncat']);
    });

    it('accepts the separate xinetd config', () => {
      const file = CONFIG.replace(/debian\.json$/, 'xinetd.json');
      const config = parseMatrixConfig(JSON.parse(readFileSync(file, 'utf8')), file);
      expect(config.targets.map((t) => t.name)).to.deep.equal(['xinetd']);
    });

    it('rejects a bad field with one line naming the field, the rule and the value, exit 64', async () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify({ targets: [{ name: 'x', command: ['true'], port: 70000 }] }));
      const r = await runCli(['matrix', '--config', file], 20_000);
      expect(r.code).to.equal(64);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.include('config.targets[0].port: must be an integer in 0..65535, got 70000');
    });

    it('rejects unknown fields, a missing command/address and duplicate names', () => {
      const bad = (doc: unknown): string => {
        try {
          parseMatrixConfig(doc, 'f.json');
        } catch (err) {
          return (err as Error).message;
        }
        return '';
      };
      expect(bad({ targets: [{ name: 'a', comand: ['x'] }] })).to.include(
        'config.targets[0].comand: unknown field',
      );
      expect(bad({ targets: [{ name: 'a' }] })).to.include('needs exactly one of address');
      expect(bad({ targets: [{ name: 'a', address: '192.0.2.1:7' }] })).to.include(
        'must be a loopback address',
      );
      expect(
        bad({
          targets: [
            { name: 'a', command: ['x'] },
            { name: 'a', command: ['y'] },
          ],
        }),
      ).to.include('name "a" is used twice');
      expect(bad({ check: { only: ['1.x'] }, targets: [{ name: 'a', command: ['x'] }] })).to.include(
        'config.check.only: must be case IDs or globs',
      );
      expect(bad({ targets: [{ name: 'a', command: ['x'], testHost: { ipv6Addresses: 9 } }] })).to.include(
        'config.targets[0].testHost.ipv6Addresses: must be an integer in 0..8, got 9',
      );
    });

    it('exits 64 without --config', async () => {
      const r = await runCli(['matrix'], 20_000);
      expect(r.code).to.equal(64);
      expect(r.stderr).to.include('matrix needs --config FILE');
    });
  });

  describe('against real servers (root: test hosts)', function () {
    this.timeout(240_000);
    before(function () {
      if (!staticCapabilities().netns) this.skip(); // needs root and iproute2 for the test hosts
      if (!existsSync('/usr/sbin/inetd')) this.skip(); // openbsd-inetd: .ci/run installs it
    });

    const runOnce = async (): Promise<{ result: MatrixResult; runDir: string }> => {
      const reports = mkdtempSync(join(dir, 'run-'));
      const r = await runCli(
        [
          'matrix',
          '--config',
          CONFIG,
          '--targets',
          TARGETS.join(','),
          '--only',
          CASES.join(','),
          '--report-dir',
          reports,
          '--json',
        ],
        200_000,
      );
      expect(r.code, r.stderr).to.equal(0);
      const [runId] = readdirSync(reports);
      const runDir = join(reports, runId ?? '');
      return { result: JSON.parse(r.stdout) as MatrixResult, runDir };
    };

    it('writes matrix.html/md/json with per-server reports, the same verdicts on two runs, and the known findings', async () => {
      const first = await runOnce();
      const second = await runOnce();
      for (const f of ['matrix.html', 'matrix.md', 'matrix.json'])
        expect(existsSync(join(first.runDir, f)), f).to.equal(true);
      for (const t of TARGETS) {
        expect(existsSync(join(first.runDir, t, 'mochawesome.html')), t).to.equal(true);
        expect(existsSync(join(first.runDir, t, 'summary.json')), t).to.equal(true);
      }
      expect(readFileSync(join(first.runDir, 'matrix.md'), 'utf8')).to.include(
        '](openbsd-inetd/mochawesome.html)',
      );
      // The run's HTML report carries the matrix, each cell linked to the case in that server's report.
      const index = readFileSync(join(first.runDir, 'index.html'), 'utf8');
      expect(index).to.include('openbsd-inetd/index.html#case-3.1');
      for (const t of TARGETS) expect(existsSync(join(first.runDir, t, 'index.html')), t).to.equal(true);
      const verdicts = (r: MatrixResult): Record<string, Record<string, string>> =>
        Object.fromEntries(
          r.columns.map((c) => [
            c.name,
            Object.fromEntries(Object.entries(c.cells).map(([id, v]) => [id, v.verdict])),
          ]),
        );
      const a = verdicts(first.result);
      expect(verdicts(second.result)).to.deep.equal(a);
      expect(a['reference']).to.deep.include({ '1.2': 'PASS', '3.1': 'PASS', '4.4': 'PASS', '7.1': 'PASS' });
      expect(a['openbsd-inetd']).to.deep.include({
        '1.1': 'PASS',
        '3.1': 'FAIL',
        '4.4': 'NON-STRICT',
        '7.1': 'NON-STRICT',
      });
      expect(a['node-naive']).to.deep.include({ '3.1': 'PASS', '4.4': 'NON-STRICT' });
      const inetd = first.result.columns.find((c) => c.name === 'openbsd-inetd');
      expect(inetd?.cells['3.4']?.message).to.include('largest size echoed: 4096 bytes');
      // What the test host's IPv6, link-local and further addresses, raw socket and pid make possible.
      for (const t of TARGETS) {
        const unsupported = Object.entries(a[t] ?? {}).filter(([, v]) => v === 'UNSUPPORTED');
        expect(unsupported, `${t}: UNSUPPORTED cells`).to.deep.equal([]);
      }
      expect(a['reference']).to.deep.include({ '3.3': 'PASS', '4.3': 'PASS', '7.4': 'PASS', '8.2': 'PASS' });
      expect(a['openbsd-inetd']).to.deep.include({
        '3.3': 'FAIL',
        '4.3': 'NON-STRICT',
        '7.4': 'PASS',
        '8.2': 'NON-STRICT',
        '8.3': 'INFO',
        '10.4': 'INFO',
      });
      expect(inetd?.cells['3.3']?.message).to.include('truncated to 4096 bytes (sent 65527) at [2001:2:0:');
      expect(inetd?.cells['4.3']?.message).to.include('in place of 127/8 aliases');
      expect(inetd?.cells['8.3']?.message).to.include('same address and scope');
      expect(inetd?.cells['10.4']?.message).to.match(/^pid \d+ \(--target-pid\): .* fds \d+ -> \d+/);
      expect(inetd?.pid).to.be.a('number');
      // A node:dgram server throws on a reply to port 0: 7.4 is the case that stopped it.
      expect(a['node-naive']).to.deep.include({ '3.3': 'PASS', '7.4': 'FAIL', '8.2': 'NOT-RUN' });
      const naive = first.result.columns.find((c) => c.name === 'node-naive');
      expect(naive?.cells['7.4']?.message).to.include('stopped answering after the datagrams of case 7.4');
    });
  });
});
