import { isIP } from 'node:net';
import pLimit from 'p-limit';
import { nonce } from '../../harness/probes/payloads.js';
import { dualExchange } from '../../harness/probes/dual-exchange.js';
import { exchangeEvidence, noReplyPhrase } from '../../harness/probes/exchange.js';
import type { ActiveRun } from '../../harness/runner/active-run.js';
import { formatEndpoint } from '../../harness/spec/target.js';
import { EchoClient } from '../../harness/net/echo-client.js';
import { comparePayloads } from '../../harness/results/evidence.js';
import { isLoopback, normalizeAddress } from '../../harness/runner/capabilities.js';
import { EMBEDDED_BIND_V4 } from '../../harness/runner/embedded-server.js';
import { exchangeOnce } from '../../harness/probes/exchange.js';
import { conformanceCase, info, met, unsupported, violated } from '../support/case.js';
import { judgeBytes, request } from '../support/request.js';

/** 127/8 addresses other than 127.0.0.1 that every Linux host has on lo. */
const LOOPBACK_ALIASES = ['127.0.0.2', '127.1.2.3'];

/** Clients of case 4.5, all open at once. */
const MANY_CLIENTS = 200;

const tag = (id: string) => (): Buffer => Buffer.from(`echolot ${id} ${nonce()}`, 'latin1');

/** What sending to one address of the server showed: the reply's source address, or why there was none. */
interface AddressProbe {
  readonly address: string;
  readonly from?: string;
  readonly why?: string;
  readonly damage?: string;
  readonly attempts: number;
  readonly evidence: Record<string, unknown>;
}

/** Sends to one address from a connected and an unconnected socket; ICMP port-unreachable answers "not served" at once. */
async function probeAddress(run: ActiveRun, address: string, id: string): Promise<AddressProbe> {
  const to = { address, port: run.target.port };
  const family = isIP(address.split('%')[0] ?? '') === 6 ? 'IPv6' : 'IPv4';
  for (let attempt = 1; ; attempt++) {
    const payload = tag(id)();
    const o = await dualExchange(to, family, payload, run.options.timeoutMs);
    const base = { to: formatEndpoint(address, to.port), sentLength: payload.length, attempts: attempt };
    if (o.kind === 'reply') {
      const from = normalizeAddress(o.reply.from.address);
      const cmp = comparePayloads(payload, o.reply.data);
      return {
        address,
        from,
        attempts: attempt,
        ...(cmp.equal ? {} : { damage: cmp.summary }),
        evidence: {
          ...base,
          replyFrom: formatEndpoint(from, o.reply.from.port),
          local: formatEndpoint(o.local.address, o.local.port),
          seenBy: `${o.via} socket`,
          comparison: cmp,
        },
      };
    }
    if (o.kind === 'fault') {
      const why = o.fault.errno === 'ECONNREFUSED' ? 'ICMP port unreachable' : o.fault.errno;
      return { address, why, attempts: attempt, evidence: { ...base, fault: why } };
    }
    if (attempt > run.options.retries) {
      const why = `no reply within ${run.options.timeoutMs} ms after ${attempt} attempts`;
      return { address, why, attempts: attempt, evidence: { ...base, timedOut: true } };
    }
  }
}

/** The addresses case 4.4 checks: --target-addrs, or for the embedded default every other address it binds. */
function furtherAddresses(run: ActiveRun): { addresses: readonly string[]; origin: string } | undefined {
  if (run.options.targetAddrs.length > 0) {
    return { addresses: run.options.targetAddrs, origin: '--target-addrs' };
  }
  if (!run.embedded) return undefined;
  const caps = run.capabilities;
  const bound = caps.linux ? [...EMBEDDED_BIND_V4] : ['127.0.0.1'];
  if (caps.ipv6Loopback) bound.push('::1');
  const target = normalizeAddress(run.target.address);
  return {
    addresses: bound.filter((a) => a !== target),
    origin: 'the addresses the embedded reference server binds',
  };
}

/** Client sockets of case 4.6, and requests each sends in turn. */
const PORT_CLIENTS = 4;
const REQUESTS_PER_CLIENT = 3;

describe('4 Addressing', () => {
  conformanceCase('4.1', async (run) => {
    const r = await request(run, tag('4.1'));
    if (!r.reply) return judgeBytes(run, r);
    const evidence = { exchange: exchangeEvidence(r) };
    const from = normalizeAddress(r.reply.from.address);
    if (from !== normalizeAddress(run.target.address)) {
      return violated(
        `the reply came from ${from}; the request was sent to ${run.target.address}`,
        evidence,
        r.attempts,
      );
    }
    return met(`the reply came from ${from}, the address the request was sent to`, evidence, r.attempts);
  });

  conformanceCase('4.2', async (run) => {
    const r = await request(run, tag('4.2'), { connected: true });
    if (r.reply) {
      const bytes = judgeBytes(run, r);
      if (bytes.status !== 'met') return bytes;
      return met(`the connected socket received the reply: ${bytes.message}`, bytes.evidence, r.attempts);
    }
    const evidence: Record<string, unknown> = { connected: exchangeEvidence(r) };
    if (r.fault) {
      return violated(`the connected socket got ${r.fault.errno} instead of a reply`, evidence, r.attempts);
    }
    // Say where the replies go: an unconnected socket also sees those from another address or port.
    const loose = await exchangeOnce({
      to: { address: run.target.address, port: run.target.port },
      family: run.target.family,
      payload: tag('4.2')(),
      timeoutMs: run.options.timeoutMs,
    });
    evidence['unconnected'] = exchangeEvidence(loose);
    const sentTo = formatEndpoint(run.target.address, run.target.port);
    const seen = loose.reply
      ? `; an unconnected socket got its reply from ${formatEndpoint(loose.reply.from.address, loose.reply.from.port)} instead of ${sentTo}, which the kernel drops on a connected socket`
      : '';
    return violated(
      `${noReplyPhrase(r, run.options.timeoutMs)} on a socket connected to ${sentTo}${seen}`,
      evidence,
      r.attempts,
    );
  });

  conformanceCase('4.3', async (run) => {
    const caps = run.capabilities;
    if (!caps.linux) return unsupported(`127/8 aliases are a Linux feature; this is ${caps.os}`);
    if (run.target.family !== 'IPv4') return unsupported('the target is IPv6; 127/8 aliases are IPv4');
    const target = normalizeAddress(run.target.address);
    if (!isLoopback(target) && !caps.localAddresses.includes(target)) {
      return unsupported(`the target ${target} is not on this host, so its 127/8 aliases cannot be reached`);
    }
    const aliases = LOOPBACK_ALIASES.filter((a) => a !== target);
    const probes = await Promise.all(aliases.map((address) => probeAddress(run, address, '4.3')));
    const evidence = Object.fromEntries(probes.map((p) => [p.address, p.evidence]));
    const attempts = Math.max(...probes.map((p) => p.attempts));
    const wrong = probes.filter((p) => p.from !== undefined && p.from !== p.address);
    const served = probes.filter((p) => p.from === p.address);
    const unserved = probes.filter((p) => p.from === undefined).map((p) => `${p.address} (${p.why})`);
    if (wrong.length > 0) {
      const list = wrong.map((p) => `sent to ${p.address}, answered from ${p.from}`).join('; ');
      return violated(`reply from the wrong address: ${list}`, evidence, attempts);
    }
    if (served.length === 0) {
      return info(
        `the server does not answer on ${unserved.join(' or ')}: nothing was misaddressed`,
        evidence,
      );
    }
    const damaged = served.find((p) => p.damage !== undefined);
    if (damaged) return violated(`reply via ${damaged.address}: ${damaged.damage}`, evidence, attempts);
    const note = unserved.length ? `; not served, nothing misaddressed: ${unserved.join(', ')}` : '';
    return met(`answered from ${served.map((p) => p.address).join(' and ')}${note}`, evidence, attempts);
  });

  conformanceCase('4.4', async (run) => {
    const further = furtherAddresses(run);
    if (!further) {
      return unsupported(
        'give --target-addrs ADDR,... (the further addresses of the same server: secondary IPs, other interfaces) to check them',
      );
    }
    if (further.addresses.length === 0)
      return unsupported(`${further.origin}: no address besides the target`);
    const probes = await Promise.all(further.addresses.map((a) => probeAddress(run, a, '4.4')));
    const evidence = {
      origin: further.origin,
      ...Object.fromEntries(probes.map((p) => [p.address, p.evidence])),
    };
    const attempts = Math.max(...probes.map((p) => p.attempts));
    const wrong = probes.filter((p) => p.from !== undefined && p.from !== normalizeAddress(p.address));
    if (wrong.length > 0) {
      const list = wrong.map((p) => `sent to ${p.address}, answered from ${p.from}`).join('; ');
      return violated(`reply from the wrong address: ${list}`, evidence, attempts);
    }
    // The caller named these as the server's addresses, so one that answers nothing is a finding too.
    const unserved = probes.filter((p) => p.from === undefined);
    if (unserved.length > 0) {
      const list = unserved.map((p) => `${p.address} (${p.why})`).join(', ');
      return violated(`no reply on ${list}`, evidence, attempts);
    }
    const damaged = probes.find((p) => p.damage !== undefined);
    if (damaged) return violated(`reply via ${damaged.address}: ${damaged.damage}`, evidence, attempts);
    return met(
      `each of ${probes.map((p) => p.address).join(', ')} (${further.origin}) answered from itself`,
      evidence,
      attempts,
    );
  });

  conformanceCase('4.5', async (run) => {
    const clients = await Promise.all(
      Array.from({ length: MANY_CLIENTS }, () => EchoClient.open({ family: run.target.family })),
    );
    try {
      const ports = new Set(clients.map((c) => c.local().port));
      const limit = pLimit(50);
      const to = { address: run.target.address, port: run.target.port };
      const results = await Promise.all(
        clients.map((client) =>
          limit(async (): Promise<{ port: number; problem?: string; attempts: number }> => {
            const port = client.local().port;
            // The socket itself is the identity under test, so retries reuse it with a fresh nonce.
            const earlier: Buffer[] = [];
            for (let attempt = 1; attempt <= run.options.retries + 1; attempt++) {
              const payload = Buffer.from(`echolot 4.5 ${port} ${nonce()}`, 'latin1');
              await client.send(payload, to);
              let o = await client.receive(run.options.timeoutMs);
              // A late reply to an earlier attempt of this client is slow, not misdelivered: wait on
              // for this attempt's (bounded: at most two copies of each earlier reply are skipped).
              for (let skips = 0; skips < 2 * earlier.length; skips++) {
                const late = o.kind === 'datagram' ? o.datagram.data : undefined;
                if (late === undefined || !earlier.some((p) => p.equals(late))) break;
                o = await client.receive(run.options.timeoutMs);
              }
              earlier.push(payload);
              if (o.kind === 'timeout') continue;
              if (o.kind === 'fault') return { port, problem: `${o.fault.errno}`, attempts: attempt };
              const cmp = comparePayloads(payload, o.datagram.data);
              if (!cmp.equal) {
                const text = o.datagram.data.toString('latin1', 0, 64);
                return {
                  port,
                  problem: `got someone else's or damaged data: ${cmp.summary} ('${text}')`,
                  attempts: attempt,
                };
              }
              return { port, attempts: attempt };
            }
            return {
              port,
              problem: `no reply within ${run.options.timeoutMs} ms after ${run.options.retries + 1} attempts`,
              attempts: run.options.retries + 1,
            };
          }),
        ),
      );
      const bad = results.filter((r) => r.problem !== undefined);
      const attempts = Math.max(...results.map((r) => r.attempts));
      const evidence = {
        clients: clients.length,
        distinctPorts: ports.size,
        problems: bad.slice(0, 20).map((b) => `client port ${b.port}: ${b.problem}`),
        problemCount: bad.length,
      };
      if (ports.size !== clients.length) {
        return unsupported(
          `the OS gave ${clients.length} sockets only ${ports.size} distinct ports`,
          evidence,
        );
      }
      if (bad.length > 0) {
        return violated(
          `${bad.length} of ${clients.length} clients did not get their own reply; first: port ${bad[0]?.port}: ${bad[0]?.problem}`,
          evidence,
          attempts,
        );
      }
      return met(
        `${clients.length} clients on distinct ephemeral ports each got their own reply`,
        evidence,
        attempts,
      );
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
  conformanceCase('4.6', async (run) => {
    const to = { address: run.target.address, port: run.target.port };
    const rows: { client: number; request: number; replyPorts: number[]; attempts: number }[] = [];
    let stoppedEarly = '';
    // One client at a time, so servers that mix up concurrent clients do not blur this case.
    outer: for (let c = 0; c < PORT_CLIENTS; c++) {
      const client = await EchoClient.open({ family: run.target.family });
      try {
        const port = client.local().port;
        for (let k = 1; k <= REQUESTS_PER_CLIENT; k++) {
          let matched = false;
          const replyPorts: number[] = [];
          let attempt = 1;
          // The socket is the identity under test, so retries reuse it with a fresh nonce.
          for (; attempt <= run.options.retries + 1 && !matched; attempt++) {
            const payload = Buffer.from(`echolot 4.6 ${port} ${k} ${nonce()}`, 'latin1');
            await client.send(payload, to);
            const deadline = Date.now() + run.options.timeoutMs;
            // Every datagram counts for its source port; only the matching one ends the wait.
            while (!matched) {
              const o = await client.receive(deadline - Date.now());
              if (o.kind !== 'datagram') break;
              replyPorts.push(o.datagram.from.port);
              matched = o.datagram.data.equals(payload);
            }
          }
          rows.push({ client: port, request: k, replyPorts, attempts: attempt - 1 });
          if (!matched) {
            stoppedEarly = `client port ${port} request ${k}: no matching reply within ${run.options.timeoutMs} ms after ${attempt - 1} attempts`;
            break outer;
          }
        }
      } finally {
        await client.close();
      }
    }
    const ports = [...new Set(rows.flatMap((r) => r.replyPorts))];
    const attempts = Math.max(1, ...rows.map((r) => r.attempts));
    const evidence = {
      targetPort: run.target.port,
      replySourcePorts: ports,
      requests: rows.map((r) => ({
        client: r.client,
        request: r.request,
        replyPorts: r.replyPorts,
        attempts: r.attempts,
      })),
      ...(stoppedEarly ? { stoppedEarly } : {}),
    };
    const wrong = rows.filter((r) => r.replyPorts.some((p) => p !== run.target.port));
    if (wrong.length > 0) {
      const list = wrong
        .slice(0, 4)
        .map(
          (r) =>
            `client ${r.client} request ${r.request} answered from port ${r.replyPorts.filter((p) => p !== run.target.port).join(',')}`,
        )
        .join('; ');
      return violated(
        `replies came from ${ports.length} ports (${ports.join(', ')}), not only from ${run.target.port}: ${list}`,
        evidence,
        attempts,
      );
    }
    const answered = rows.filter((r) => r.replyPorts.length > 0).length;
    if (answered < 2) {
      return unsupported(
        `too few replies to compare source ports (${stoppedEarly || `${answered} answered`})`,
        evidence,
      );
    }
    const note = stoppedEarly ? `; stopped early: ${stoppedEarly}` : '';
    return met(
      `${answered} replies to ${new Set(rows.map((r) => r.client)).size} client sockets all came from port ${run.target.port}${note}`,
      evidence,
      attempts,
    );
  });
});
