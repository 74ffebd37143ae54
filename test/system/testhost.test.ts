import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { staticCapabilities } from '../../harness/net/capabilities.js';
import { createTestHost, ip, liveTestHosts, type TestHost } from '../../harness/testhost/netns.js';
import {
  startListeningProcess,
  startReferenceServerIn,
  type NamespacedServer,
} from '../../harness/testhost/reference-in-netns.js';
import { runCli } from '../helpers/cli.js';

/** A wildcard-bound (0.0.0.0) echo server, as a script run inside a namespace: it answers from the primary address. */
const WILDCARD_SERVER = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(0, '0.0.0.0', () => console.log('listening on udp port ' + s.address().port));
`;

/** One case as the summary.json printed by `echolot check --json` carries it. */
interface CaseJson {
  readonly id: string;
  readonly verdict: string;
  readonly message: string;
  readonly evidence: unknown;
}

/** Each case's id, verdict, message and evidence from `echolot check --json`. */
function resultsOf(stdout: string): Map<string, CaseJson> {
  const doc = JSON.parse(stdout) as {
    results: { tests: { message: string; extra: { id: string; verdict: string; evidence: unknown } }[] };
  };
  return new Map(doc.results.tests.map((t) => [t.extra.id, { ...t.extra, message: t.message }]));
}

/** Test hosts of process `pid` (this one by default) still present in the kernel (namespaces and host-side veths). */
function leftovers(pid = process.pid): string[] {
  const tag = `-${pid.toString(36)}-`;
  const text = [
    execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5000 }),
    execFileSync('ip', ['-o', 'link'], { encoding: 'utf8', timeout: 5000 }),
  ].join('\n');
  return text.split('\n').filter((l) => l.includes(`echolot${tag}`) || l.includes(`el${tag.slice(1)}`));
}

describe('test hosts (network namespaces) and the cases that need them', function () {
  const caps = staticCapabilities();
  let reports: string;

  before(function () {
    if (!caps.netns) {
      // Namespaces need CAP_NET_ADMIN and iproute2; the cases themselves say UNSUPPORTED there.
      this.skip();
    }
    reports = mkdtempSync(join(tmpdir(), 'echolot-testhost-'));
  });
  after(() => {
    if (reports) rmSync(reports, { recursive: true, force: true });
  });

  const check = (args: readonly string[]) =>
    runCli(['check', ...args, '--json', '--report-dir', reports], 60_000);

  describe('createTestHost()', () => {
    it('makes a namespace with a veth pair, extra addresses and the MTU, and removes every trace', async () => {
      const host = await createTestHost({ extraAddresses: 1, mtu: 1400 });
      try {
        expect(host.address).to.match(/^198\.1[89]\.\d+\.2$/);
        expect(host.addresses).to.deep.equal([host.address, host.address.replace(/\.2$/, '.3')]);
        expect(await ip(['netns', 'list'])).to.include(host.name);
        const inside = await ip(['-n', host.name, '-o', 'addr', 'show', 'dev', host.nsInterface]);
        for (const a of host.addresses) expect(inside).to.include(`inet ${a}/24`);
        expect(await ip(['-o', 'link', 'show', host.hostInterface])).to.include('mtu 1400');
        expect(await ip(['-n', host.name, '-o', 'link', 'show', host.nsInterface])).to.include('mtu 1400');
        expect(liveTestHosts()).to.include(host.name);
      } finally {
        await host.remove();
        await host.remove();
      }
      expect(leftovers()).to.deep.equal([]);
      expect(liveTestHosts()).to.deep.equal([]);
    });

    it('adds IPv6 addresses from 2001:2::/48 that a server inside can use at once (no DAD)', async () => {
      const host = await createTestHost({ ipv6Addresses: 2, linkLocal: true });
      try {
        const k =
          parseInt(host.address.split('.')[2] ?? '', 10) + (host.address.startsWith('198.19.') ? 256 : 0);
        const prefix = `2001:2:0:${k.toString(16)}`;
        expect(host.addresses6).to.deep.equal([`${prefix}::2`, `${prefix}::3`]);
        expect(host.hostAddress6).to.equal(`${prefix}::1`);
        const inside = await ip(['-n', host.name, '-o', '-6', 'addr', 'show', 'dev', host.nsInterface]);
        for (const a of host.addresses6 ?? []) expect(inside).to.include(`inet6 ${a}/64`);
        expect(inside).not.to.include('tentative');
        // Bound and answered right away: the addresses are not waiting out duplicate address detection.
        const server = await startReferenceServerIn(host, { bind: host.addresses6 ?? [] });
        const r = await check([`[${prefix}::3]:${server.port}`, '--only', '1.1', '--i-own-the-target']);
        expect(r.code, r.stderr).to.equal(0);
      } finally {
        await host.remove();
      }
      expect(leftovers()).to.deep.equal([]);
    });

    it('kills the processes it started when the host is removed', async () => {
      const host = await createTestHost();
      const server = await startReferenceServerIn(host, { bind: [host.address] });
      expect(server.port).to.be.greaterThan(0);
      await host.remove();
      expect(server.process.child.exitCode !== null || server.process.child.signalCode !== null).to.equal(
        true,
      );
      expect(leftovers()).to.deep.equal([]);
    });
  });

  describe('4.4 on a test host with two addresses', () => {
    let host: TestHost;
    before(async () => {
      host = await createTestHost({ extraAddresses: 1 });
    });
    after(() => host.remove());

    it('is NON-STRICT for a wildcard-bound server, which answers both addresses from its primary one', async () => {
      const server = await startListeningProcess(
        host,
        process.execPath,
        ['-e', WILDCARD_SERVER],
        /listening on udp port (\d+)/,
      );
      try {
        const r = await check([
          `${host.address}:${server.port}`,
          '--only',
          '4.4',
          '--target-addrs',
          host.addresses.join(','),
        ]);
        const result = resultsOf(r.stdout).get('4.4');
        expect(result?.verdict, r.stderr).to.equal('NON-STRICT');
        expect(result?.message).to.include(`sent to ${host.addresses[1]}, answered from ${host.address}`);
        expect(r.code).to.equal(0);
      } finally {
        await server.stop();
      }
    });

    it('passes for the reference server bound to every address', async () => {
      const server: NamespacedServer = await startReferenceServerIn(host, { bind: ['all'] });
      try {
        const r = await check([
          `${host.address}:${server.port}`,
          '--only',
          '4.4',
          '--target-addrs',
          host.addresses.join(','),
        ]);
        const result = resultsOf(r.stdout).get('4.4');
        expect(result?.verdict, `${result?.message}\n${r.stderr}`).to.equal('PASS');
        expect(r.code).to.equal(0);
      } finally {
        await server.stop();
      }
    });

    it('is UNSUPPORTED without --target-addrs for a target given on the command line', async () => {
      const server = await startReferenceServerIn(host, { bind: [host.address] });
      try {
        const r = await check([`${host.address}:${server.port}`, '--only', '4.4']);
        const result = resultsOf(r.stdout).get('4.4');
        expect(result?.verdict).to.equal('UNSUPPORTED');
        expect(result?.message).to.match(/^give --target-addrs/);
      } finally {
        await server.stop();
      }
    });
  });

  describe('9.1 over a veth link with MTU 1500', () => {
    it('reports 1473, 2961 and 8193 bytes as fragmented and byte-exact from the reference server', async () => {
      const host = await createTestHost({ mtu: 1500 });
      try {
        const server = await startReferenceServerIn(host, { bind: [host.address] });
        const r = await check([`${host.address}:${server.port}`, '--only', '9.1']);
        const result = resultsOf(r.stdout).get('9.1');
        expect(result?.verdict, r.stderr).to.equal('INFO');
        expect(result?.message).to.include(`path MTU 1500 (dev ${host.hostInterface})`);
        for (const part of [
          '1472 B (1 fragment): 3/3 exact',
          '1473 B (2 fragments): 3/3 exact',
          '2961 B (3 fragments): 3/3 exact',
          '8193 B (6 fragments): 3/3 exact',
        ]) {
          expect(result?.message).to.include(part);
        }
        const sizes = (result?.evidence as { sizes: { size: number; exact: number; lost: number }[] }).sizes;
        expect(
          sizes.every((s) => s.exact === 3 && s.lost === 0),
          JSON.stringify(sizes),
        ).to.equal(true);
      } finally {
        await host.remove();
      }
    });
  });

  describe('8.3 over a veth link with link-local addresses', () => {
    it('finds the reference server answering from the same link-local address and scope', async () => {
      const host = await createTestHost({ linkLocal: true });
      try {
        const ll = host.linkLocal;
        if (!ll) throw new Error('no link-local addresses');
        const server = await startReferenceServerIn(host, { bind: [ll.inside] });
        const r = await check([`[${ll.peer}]:${server.port}`, '--only', '8.3']);
        const result = resultsOf(r.stdout).get('8.3');
        expect(result?.verdict, r.stderr).to.equal('INFO');
        expect(result?.message).to.equal(
          `sent to ${ll.peer}, answered from ${ll.peer}: same address and scope`,
        );
      } finally {
        await host.remove();
      }
    });
  });

  describe('the embedded default', () => {
    it('checks 4.4, 8.3 and 9.1 without FAIL or NON-STRICT and leaves no test host behind', async () => {
      const r = await check(['--only', '4.4,8.3,9.1']);
      const results = resultsOf(r.stdout);
      expect(results.get('4.4')?.verdict, r.stderr).to.equal('PASS');
      expect(results.get('8.3')?.verdict).to.equal('INFO');
      expect(results.get('8.3')?.message).to.match(/same address and scope$/);
      expect(results.get('9.1')?.message).to.match(
        /^path MTU 65536 \(dev lo\): none of these sizes fragments/,
      );
      expect(r.code).to.equal(0);
      expect(r.pid, 'pid of the check').to.be.a('number');
      expect(leftovers(r.pid)).to.deep.equal([]);
    });
  });

  after(() => {
    if (caps.netns) expect(leftovers()).to.deep.equal([]);
  });
});
