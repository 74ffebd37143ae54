import type { MatrixCell, MatrixColumn, MatrixResult } from '../results/matrix-result.js';

/** Verdicts that say something about a server (PASS and UNSUPPORTED say nothing worth a line). */
const FINDING = new Set(['FAIL', 'NON-STRICT', 'INFO', 'FLAKY', 'ERROR']);

/** 32768-60999: Linux's ephemeral ports, which differ from run to run. */
const ephemeral = (n: number): boolean => n >= 32768 && n <= 60999;

/**
 * The doc's form of a text from a run: what differs from run to run without being a finding (test
 * host addresses and interfaces, ephemeral ports, pids, durations, the send rate of floods, RSS
 * changes below 5 MiB) is normalised, so the page changes only when a finding does. matrix.json and the HTML
 * reports keep the exact values.
 */
export function stableText(text: string): string {
  return (
    text
      .replace(/\b198\.(?:18|19)\.\d{1,3}\.(\d{1,3})\b/g, '198.18.N.$1')
      .replace(/\b2001:2:0:[0-9a-f]{1,4}::([0-9a-f]{1,4})\b/gi, '2001:2:0:N::$1')
      .replace(/\/tmp\/echolot-matrix-[^/\s]+/g, '$DIR')
      .replace(/\bel[0-9a-z]+-[0-9a-z]+([hn])\b/g, 'elN$1')
      .replace(/\becholot-[0-9a-z]+-[0-9a-z]+\b/g, 'echolot-N')
      .replace(/\bpid \d+/g, 'pid N')
      .replace(/\/\S*\/(dist|interop)\//g, '$1/')
      .replace(/^\/\S*\/node /, 'node ')
      .replace(/(port |ports |\]:|\d:)(\d{5})\b/g, (m, pre: string, port: string) =>
        ephemeral(Number(port)) ? `${pre}N` : m,
      )
      .replace(/\b\d+\.\d+ (ms|s)\b/g, 'N $1')
      .replace(/\b(within|after|every) \d+ ms\b(?! after \d+ attempts)/g, '$1 N ms')
      // The rate a flood was sent at is this machine's, not the server's.
      .replace(/~\d+\/s\b/g, '~N/s')
      .replace(
        /RSS ([\d.]+) MiB -> ([\d.]+) MiB \(([+-])([\d.]+) MiB\)/g,
        (_m, _a, _b, sign: string, d: string) =>
          // A garbage-collected server's RSS moves by a few MiB between runs; a leak shows above that.
          Number(d) < 5 ? 'RSS changed by less than 5 MiB' : `RSS ${sign}${Math.round(Number(d))} MiB`,
      )
      .replace(/\b\d+ datagrams from one socket\b/g, 'a soak of datagrams from one socket')
      // A flood's counts and its per-200-ms shares move with the machine's load; its share and verdict stay.
      .replace(/answered \d+ of \d+ (\d+-byte datagrams) \((\d+)%\)/g, 'answered $2% of the $1')
      .replace(/ \(per 200 ms:( \d+%)+\)/g, '')
      .replace(/\(~\d+ datagrams\)/g, '')
  );
}

/** Plain-word headlines for the findings that matter most to someone choosing a server. */
function headlines(c: MatrixColumn): string[] {
  const cell = (id: string): MatrixCell | undefined => c.cells[id];
  const is = (id: string, ...v: string[]): boolean => v.includes(cell(id)?.verdict ?? '');
  const out: string[] = [];
  const largest = /largest size echoed: (\d+) bytes/.exec(cell('3.4')?.message ?? '')?.[1];
  const truncated = /truncated to (\d+) bytes/.exec(cell('3.4')?.message ?? '')?.[1];
  if (truncated !== undefined)
    out.push(`truncates datagrams above ${truncated} bytes to their first ${truncated} bytes`);
  else if (largest !== undefined) out.push(`echoes datagrams of every size up to ${largest} bytes`);
  if (is('1.2', 'FAIL')) out.push('never answers a zero-length datagram');
  if (is('4.4', 'NON-STRICT') && /answered from/.test(cell('4.4')?.message ?? '')) {
    out.push('answers from its primary address when a request is sent to a secondary one');
  } else if (is('4.4', 'PASS')) out.push('answers each address from that address');
  if (is('7.1', 'NON-STRICT') || is('7.2', 'NON-STRICT')) {
    out.push(
      'answers datagrams from the echo, chargen, discard, daytime and time ports (an echo loop with another such service is possible)',
    );
  } else if (is('7.1', 'PASS') && is('7.2', 'PASS'))
    out.push('refuses datagrams from the loop ports (7, 9, 13, 19, 37)');
  for (const id of ['4.5', '5.1', '5.2', '6.1', '6.2', '6.3']) {
    if (is(id, 'FAIL')) {
      out.push('loses or mixes up replies when several clients or bursts arrive at once');
      break;
    }
  }
  if (is('7.4', 'PASS')) out.push('ignores a datagram from source port 0 ("no reply expected")');
  else if (is('7.4', 'NON-STRICT')) out.push('answers a datagram from source port 0');
  else if (is('7.4', 'FAIL') && /stopped answering/.test(cell('7.4')?.message ?? ''))
    out.push('stops answering (dies) when a datagram from source port 0 arrives');
  if (is('10.2', 'FAIL') || is('10.3', 'FAIL')) out.push('stops answering after a flood');
  out.push(...ipv6Headlines(c));
  const flood = /answered (\d+) of (\d+) 16-byte datagrams \((\d+)%\)/.exec(cell('7.6')?.message ?? '');
  if (flood) out.push(`answered ${flood[3]}% of a 2 s flood of ~10000 datagrams per second`);
  return out;
}

/** What the IPv6 cases (3.3, 4.4 over IPv6, 8.1-8.3) found, in plain words. */
function ipv6Headlines(c: MatrixColumn): string[] {
  const cell = (id: string): MatrixCell | undefined => c.cells[id];
  const v = (id: string): string => cell(id)?.verdict ?? '';
  const msg = (id: string): string => cell(id)?.message ?? '';
  const out: string[] = [];
  const notOver6 = ['3.3', '8.1', '8.2'].find((id) =>
    /does not (answer|serve) over IPv6|no answer over IPv6|does not serve IPv6/.test(msg(id)),
  );
  if (notOver6 !== undefined) {
    out.push(`does not answer over IPv6 (IPv4 only, case ${notOver6})`);
    return out;
  }
  const big = /truncated to (\d+) bytes/.exec(msg('3.3'))?.[1];
  if (v('3.3') === 'PASS') out.push('over IPv6, echoes the largest datagram, 65527 bytes, whole');
  else if (big !== undefined) out.push(`over IPv6 too, truncates datagrams to ${big} bytes (65527 sent)`);
  if (v('8.1') === 'PASS') out.push('over IPv6, passes every check of sections 1-3');
  else if (v('8.1') === 'FAIL') {
    const first = /first: ([^;]+)/.exec(msg('8.1'))?.[1];
    if (first && /zero-length/.test(first)) out.push('over IPv6 too, never answers a zero-length datagram');
  }
  const wrong6 = /sent to (2001:[0-9a-f:]+), answered from (2001:[0-9a-f:]+)/i.exec(msg('4.4'));
  if (wrong6) out.push('over IPv6 too, answers a request to one of its addresses from another one');
  else if (v('4.4') === 'PASS' && c.targetAddrs?.some((a) => a.includes(':')))
    out.push('over IPv6 too, answers each address from that address');
  if (v('8.2') === 'PASS')
    out.push('as a dual-stack server, answers IPv4 clients over IPv4 from the address they used');
  else if (v('8.2') === 'NON-STRICT')
    out.push('as a dual-stack server, answers IPv4 clients of a further address from another address');
  if (/same address and scope/.test(msg('8.3')))
    out.push('answers a link-local request from the same link-local address and scope');
  else if (v('8.3') === 'FAIL' || v('8.3') === 'NON-STRICT')
    out.push('answers a link-local request from another address or scope');
  return out;
}

const fence = (s: string): string => `\`${s.replace(/`/g, "'")}\``;

function server(c: MatrixColumn, cases: MatrixResult['cases']): string[] {
  const lines = [`## ${c.name}`, '', c.description, ''];
  lines.push(`- version: ${c.version}`);
  if (c.commandLine) lines.push(`- started: ${fence(stableText(c.commandLine))}`);
  for (const [name, content] of Object.entries(c.files ?? {})) {
    lines.push(
      `- \`$DIR/${name}\`:`,
      '',
      '  ```',
      ...content
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
      '  ```',
      '',
    );
  }
  if (c.where) {
    const further = c.targetAddrs ?? [];
    const v6 = further.filter((a) => a.includes(':') && !a.includes('%')).length;
    const v4 = further.length - v6 - further.filter((a) => a.includes('%')).length;
    const parts = [
      `${v4 + 1} IPv4 address${v4 > 0 ? 'es' : ''} (198.18.0.0/15)`,
      ...(v6 > 0 ? [`${v6} IPv6 address${v6 > 1 ? 'es' : ''} (2001:2::/48) and a link-local one`] : []),
    ];
    lines.push(
      `- runs: ${
        c.where.startsWith('test host')
          ? `in its own test host (network namespace) with ${parts.join(', ')}; echolot checks the first IPv4 address and gives the others to its check (\`--target-addrs\`: 4.4 asks each, 4.3 uses the further IPv4 addresses in place of 127/8 aliases, 3.3 and 8.x the IPv6 ones)${c.pid === undefined ? '' : ", and the server's process id (`--target-pid`, case 10.4)"}`
          : stableText(c.where)
      }`,
    );
  }
  if (c.status !== 'checked') {
    lines.push(`- **not checked**: ${c.reason ?? c.status}`, '');
    return lines;
  }
  const heads = headlines(c);
  if (heads.length > 0) lines.push('', 'In plain words, it:', '', ...heads.map((h) => `- ${h}`));
  const found = cases.filter((k) => FINDING.has(c.cells[k.id]?.verdict ?? ''));
  if (found.length > 0) {
    lines.push('', 'Findings (every cell that is not PASS or UNSUPPORTED):', '');
    for (const k of found) {
      const cell = c.cells[k.id] as MatrixCell;
      lines.push(`- ${cell.verdict} ${k.id} (${k.title}): ${stableText(cell.message.replace(/\s+/g, ' '))}`);
    }
  }
  const unsupported = cases.filter((k) => c.cells[k.id]?.verdict === 'UNSUPPORTED');
  if (unsupported.length > 0) {
    lines.push('', 'Not run against it (UNSUPPORTED), and why:', '');
    for (const k of unsupported) {
      const cell = c.cells[k.id] as MatrixCell;
      lines.push(`- ${k.id} (${k.title}): ${stableText(cell.message.replace(/\s+/g, ' '))}`);
    }
  }
  const notRun = cases.filter((k) => c.cells[k.id]?.verdict === 'NOT-RUN').map((k) => k.id);
  if (notRun.length > 0) {
    lines.push(
      '',
      `Not run because the server had stopped answering (NOT-RUN): ${notRun.join(', ')}; the case after which it stopped is the FAIL above.`,
    );
  }
  if (c.notes.length > 0) lines.push('', 'Checked by hand:', '', ...c.notes.map((n) => `- ${n}`));
  lines.push('');
  return lines;
}

/** docs/interop.md: the matrix, and for each server its version, how it was started and its findings in plain words. */
export function renderInteropDoc(result: MatrixResult): string {
  const cols = result.columns;
  const lines = [
    '# Interop: real echo servers side by side',
    '',
    `<!-- Generated by \`echolot matrix --config ${result.config} --doc docs/interop.md\`; do not edit: change the config's notes and regenerate. The run's exact values (addresses, ports, pids, timings) are in its matrix.json and reports. -->`,
    '',
    `echolot exists to check other people's echo servers. This page is the catalogue run against echo servers that ship in Debian 12, each started as its config says (\`${result.config}\`), ${cols.length} servers × ${result.cases.length} cases on a 2-core machine (seed ${result.check.seed}, reply timeout ${result.check.timeoutMs} ms, ${result.check.retries} retries after a timeout). Run it yourself:`,
    '',
    '```sh',
    `sudo .ci/run   # or install socat, ncat and openbsd-inetd; .ci/run unpacks xinetd and inetutils-inetd`,
    `node dist/harness/cli/main.js matrix --config ${result.config}`,
    '```',
    '',
    "It writes `reports/<run-id>/matrix.html`, `matrix.md` and `matrix.json`; every cell links to that server's own report (`reports/<run-id>/<server>/mochawesome.html`, `summary.json`) with the evidence: bytes sent and received, hashes, hex diffs, addresses and timings. Verdicts: see [conformance.md](conformance.md). Each server runs in its own test host with IPv4, IPv6 and link-local addresses, so the IPv6 cases, the alias case (its further addresses stand in for 127/8 aliases), source port 0 (a raw socket) and the server's memory and descriptors (its process id) run against every server; a cell that is still UNSUPPORTED says why under its server, and is not a defect. Addresses, ports, process ids and timings on this page are normalised (198.18.N.2, 2001:2:0:N::2, port N) so that it changes only when a finding does; matrix.json and the reports carry the exact values. What is measured under load (the share of a flood answered, 7.6, and reordering, 5.3) moves by a few percent from run to run on a shared machine.",
    '',
    '## The matrix',
    '',
    `| case | ${cols.map((c) => c.name).join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
    ...result.cases.map(
      (k) =>
        `| ${k.id} ${k.title} (${k.klass}) | ${cols.map((c) => c.cells[k.id]?.verdict ?? (c.status === 'checked' ? 'excluded' : 'n/a')).join(' | ')} |`,
    ),
    '',
  ];
  for (const c of cols) lines.push(...server(c, result.cases));
  lines.push(
    '## How the findings were checked by hand',
    '',
    "Each headline above was confirmed without echolot, one datagram at a time, from the host end of the server's test host (the namespace and veth pair made as in [test-hosts.md](test-hosts.md), the server started with the command shown). The client is a few lines of Node: bind port 0, send N bytes of `a` to ADDRESS:7, print every reply's length, source address and port, and whether its bytes equal the first bytes sent:",
    '',
    '```sh',
    'node -e \'const s=require("dgram").createSocket("udp4"),[a,n]=process.argv.slice(1),b=Buffer.alloc(+n,97);s.on("message",(m,r)=>console.log(m.length,r.address+":"+r.port,m.equals(b.subarray(0,m.length))));s.bind(0,()=>s.send(b,7,a));setTimeout(()=>s.close(),500)\' 198.18.N.2 5000',
    '```',
    '',
    'Sizes 5, 0, 2049, 4097, 8193 and 65507 to the first address, and 5 to the second (`198.18.N.3`), show the truncation sizes, the zero-length behaviour and the reply address of each server; the per-server notes above say what came back. Over IPv6 the same client with `udp6` asks `2001:2:0:N::2` and `::3`, and `fe80::2%IFACE` (IFACE: the host end of the veth pair) for the link-local address; 65527 bytes is the IPv6 maximum.',
    '',
  );
  return `${lines.join('\n')}`;
}
