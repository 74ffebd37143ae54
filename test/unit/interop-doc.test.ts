import { expect } from 'chai';
import { renderInteropDoc, stableText } from '../../harness/reporters/interop-doc.js';
import { ipv6PrefixOf } from '../../harness/testhost/netns.js';
import type { MatrixColumn, MatrixResult } from '../../harness/results/matrix-result.js';

/** One server's column as a run in a test host yields it; `n` varies what differs from run to run. */
function column(n: number): MatrixColumn {
  const v4 = `198.${n % 2 ? 19 : 18}.${n}`;
  const v6 = `2001:2:0:${n.toString(16)}`;
  const iface = `el${(1000 + n).toString(36)}-${n}h`;
  return {
    name: 'inetd',
    description: 'an inetd',
    version: 'inetd 1.0',
    status: 'checked',
    address: `${v4}.2:7`,
    targetAddrs: [`${v4}.3`, `${v6}::2`, `${v6}::3`, `fe80::2%${iface}`],
    commandLine: `/usr/sbin/inetd -d /tmp/echolot-matrix-inetd-${n}abc/inetd.conf`,
    where: `test host echolot-${n}-0 (${v4}.2)`,
    pid: 1000 + n,
    notes: [],
    durationMs: 1000 + n,
    cells: {
      '3.3': {
        verdict: 'FAIL',
        message: `truncated to 4096 bytes (sent 65527) at [${v6}::2]:7 in ${n}.25 ms`,
        attempts: 1,
      },
      '4.4': {
        verdict: 'NON-STRICT',
        message: `reply from the wrong address: sent to ${v4}.3, answered from ${v4}.2; sent to ${v6}::2, answered from ${v6}::3`,
        attempts: 1,
      },
      '4.5': {
        verdict: 'FAIL',
        message: `the reply to a request from port ${40000 + n} arrived at port ${50000 + n} (from ${v4}.2:7)`,
        attempts: 1,
      },
      '7.6': {
        verdict: 'INFO',
        message: `answered ${19900 + n} of ${20000 - n} 16-byte datagrams (100%) sent at ~${9990 + n}/s over 2.0 s: no throttling seen (per 200 ms: 100% ${90 + n}%)`,
        attempts: 1,
      },
      '8.1': {
        verdict: 'UNSUPPORTED',
        message: `the server does not answer over IPv6 at [${v6}::2]:7 (no reply): IPv4 only?`,
        attempts: 1,
      },
      '8.3': {
        verdict: 'INFO',
        message: `sent to fe80::2%${iface}, answered from fe80::2%${iface}: same address and scope`,
        attempts: 1,
      },
      '10.4': {
        verdict: 'INFO',
        message: `pid ${1000 + n} (--target-pid): RSS 4.${n} MiB -> 4.${n + 1} MiB (+0.1 MiB), fds 9 -> 9 (+0) after ${8000 - n} datagrams from one socket and 200 short-lived clients`,
        attempts: 1,
      },
    },
  };
}

function result(n: number): MatrixResult {
  return {
    format: 'echolot-matrix/1',
    runId: `2026-01-0${n}T00-00-00Z-abc${n}`,
    title: 't',
    tool: { name: 'echolot', version: '0.1.0' },
    config: 'interop/debian.json',
    check: { only: [], exclude: [], seed: 862, timeoutMs: 1000, retries: 2, runs: 100 },
    concurrency: 2,
    startedAt: '',
    finishedAt: '',
    durationMs: 40_000 + n * 1000,
    cases: ['3.3', '4.4', '4.5', '7.6', '8.1', '8.3', '10.4'].map((id) => ({ id, title: id, klass: 'MUST' })),
    columns: [column(n)],
  };
}

describe('docs/interop.md rendering', () => {
  it('is the same for two runs that differ only in addresses, ports, pids, durations and RSS', () => {
    const a = renderInteropDoc(result(3));
    expect(renderInteropDoc(result(6))).to.equal(a);
    for (const volatile of ['198.19.3.', '2001:2:0:3::', 'abc3', '40003', '3.25 ms', 'pid 1003', '~9993/s']) {
      expect(a, volatile).not.to.include(volatile);
    }
    expect(a).to.include(
      'sent to 198.18.N.3, answered from 198.18.N.2; sent to 2001:2:0:N::2, answered from 2001:2:0:N::3',
    );
  });

  it('keeps the findings: truncation sizes, fd counts, the flood share, the reply addresses', () => {
    const doc = renderInteropDoc(result(2));
    expect(doc).to.include('truncated to 4096 bytes (sent 65527) at [2001:2:0:N::2]:7');
    expect(doc).to.include('fds 9 -> 9 (+0)');
    expect(doc).to.include('RSS changed by less than 5 MiB');
    expect(doc).to.include(
      'answered 100% of the 16-byte datagrams sent at ~N/s over N s: no throttling seen',
    );
    expect(doc).to.include('`/usr/sbin/inetd -d $DIR/inetd.conf`');
  });

  it('says why each UNSUPPORTED cell did not run, and the IPv6 findings in plain words', () => {
    const doc = renderInteropDoc(result(2));
    expect(doc).to.include('Not run against it (UNSUPPORTED), and why:');
    expect(doc).to.include(
      '- 8.1 (8.1): the server does not answer over IPv6 at [2001:2:0:N::2]:7 (no reply): IPv4 only?',
    );
    expect(doc).to.include('- does not answer over IPv6 (IPv4 only, case 8.1)');
  });

  it('keeps a real RSS growth, rounded to whole MiB', () => {
    expect(stableText('RSS 10.0 MiB -> 52.4 MiB (+42.4 MiB), fds 9 -> 209 (+200)')).to.equal(
      'RSS +42 MiB, fds 9 -> 209 (+200)',
    );
    expect(stableText('from source port 7 and port 1023')).to.equal('from source port 7 and port 1023');
  });
});

describe('test host IPv6 prefixes', () => {
  it('gives each /24 of 198.18.0.0/15 its own /64 of 2001:2::/48 and rejects other prefixes', () => {
    expect(ipv6PrefixOf('198.18.5')).to.equal('2001:2:0:5');
    expect(ipv6PrefixOf('198.18.255')).to.equal('2001:2:0:ff');
    expect(ipv6PrefixOf('198.19.5')).to.equal('2001:2:0:105');
    expect(() => ipv6PrefixOf('10.0.0')).to.throw('not a /24 of 198.18.0.0/15: 10.0.0');
  });
});
