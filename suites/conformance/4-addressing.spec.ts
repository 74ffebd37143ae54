import pLimit from 'p-limit';
import { nonce } from '../../harness/probes/payloads.js';
import { dualExchange } from '../../harness/probes/dual-exchange.js';
import { exchangeEvidence } from '../../harness/probes/exchange.js';
import type { ActiveRun } from '../../harness/runner/active-run.js';
import { formatEndpoint } from '../../harness/spec/target.js';
import { EchoClient } from '../../harness/net/echo-client.js';
import { comparePayloads } from '../../harness/results/evidence.js';
import { isLoopback, normalizeAddress } from '../../harness/runner/capabilities.js';
import { conformanceCase, info, met, unsupported, violated } from '../support/case.js';
import { judgeBytes, request } from '../support/request.js';

/** 127/8 addresses other than 127.0.0.1 that every Linux host has on lo. */
const LOOPBACK_ALIASES = ['127.0.0.2', '127.1.2.3'];

/** Clients of case 4.5, all open at once. */
const MANY_CLIENTS = 200;

const tag = (id: string) => (): Buffer => Buffer.from(`echolot ${id} ${nonce()}`, 'latin1');

/** What sending to one 127/8 alias showed: the reply's source address, or why there was none. */
interface AliasProbe {
  readonly alias: string;
  readonly from?: string;
  readonly why?: string;
  readonly damage?: string;
  readonly attempts: number;
  readonly evidence: Record<string, unknown>;
}

/** Sends to one alias from a connected and an unconnected socket; ICMP port-unreachable answers "not served" at once. */
async function probeAlias(run: ActiveRun, alias: string): Promise<AliasProbe> {
  const to = { address: alias, port: run.target.port };
  for (let attempt = 1; ; attempt++) {
    const payload = tag('4.3')();
    const o = await dualExchange(to, 'IPv4', payload, run.options.timeoutMs);
    const base = { to: formatEndpoint(alias, to.port), sentLength: payload.length, attempts: attempt };
    if (o.kind === 'reply') {
      const from = normalizeAddress(o.reply.from.address);
      const cmp = comparePayloads(payload, o.reply.data);
      return {
        alias,
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
      return { alias, why, attempts: attempt, evidence: { ...base, fault: why } };
    }
    if (attempt > run.options.retries) {
      const why = `no reply within ${run.options.timeoutMs} ms after ${attempt} attempts`;
      return { alias, why, attempts: attempt, evidence: { ...base, timedOut: true } };
    }
  }
}

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

  conformanceCase('4.3', async (run) => {
    const caps = run.capabilities;
    if (!caps.linux) return unsupported(`127/8 aliases are a Linux feature; this is ${caps.os}`);
    if (run.target.family !== 'IPv4') return unsupported('the target is IPv6; 127/8 aliases are IPv4');
    const target = normalizeAddress(run.target.address);
    if (!isLoopback(target) && !caps.localAddresses.includes(target)) {
      return unsupported(`the target ${target} is not on this host, so its 127/8 aliases cannot be reached`);
    }
    const aliases = LOOPBACK_ALIASES.filter((a) => a !== target);
    const probes = await Promise.all(aliases.map((address) => probeAlias(run, address)));
    const evidence = Object.fromEntries(probes.map((p) => [p.alias, p.evidence]));
    const attempts = Math.max(...probes.map((p) => p.attempts));
    const wrong = probes.filter((p) => p.from !== undefined && p.from !== p.alias);
    const served = probes.filter((p) => p.from === p.alias);
    const unserved = probes.filter((p) => p.from === undefined).map((p) => `${p.alias} (${p.why})`);
    if (wrong.length > 0) {
      const list = wrong.map((p) => `sent to ${p.alias}, answered from ${p.from}`).join('; ');
      return violated(`reply from the wrong address: ${list}`, evidence, attempts);
    }
    if (served.length === 0) {
      return info(
        `the server does not answer on ${unserved.join(' or ')}: nothing was misaddressed`,
        evidence,
      );
    }
    const damaged = served.find((p) => p.damage !== undefined);
    if (damaged) return violated(`reply via ${damaged.alias}: ${damaged.damage}`, evidence, attempts);
    const note = unserved.length ? `; not served, nothing misaddressed: ${unserved.join(', ')}` : '';
    return met(`answered from ${served.map((p) => p.alias).join(' and ')}${note}`, evidence, attempts);
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
            for (let attempt = 1; attempt <= run.options.retries + 1; attempt++) {
              const payload = Buffer.from(`echolot 4.5 ${port} ${nonce()}`, 'latin1');
              await client.send(payload, to);
              const o = await client.receive(run.options.timeoutMs);
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
});
