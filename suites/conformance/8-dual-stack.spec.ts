import { networkInterfaces } from 'node:os';
import pLimit from 'p-limit';
import { allByteValues, nonce, patternPayload } from '../../harness/probes/payloads.js';
import { dualExchange } from '../../harness/probes/dual-exchange.js';
import {
  exchangeEvidence,
  exchangeWithRetry,
  noReplyPhrase,
  type Endpoint,
  type ExchangeRequest,
  type ExchangeResult,
} from '../../harness/probes/exchange.js';
import { MAX_PAYLOAD_IPV6, SIZE_LADDER } from '../../harness/protocol/constants.js';
import type { ActiveRun } from '../../harness/runner/active-run.js';
import { isLoopback, normalizeAddress } from '../../harness/runner/capabilities.js';
import { comparePayloads } from '../../harness/results/evidence.js';
import { formatEndpoint } from '../../harness/spec/target.js';
import { createTestHost } from '../../harness/testhost/netns.js';
import { startReferenceServerIn } from '../../harness/testhost/reference-in-netns.js';
import { errnoOf } from '../../harness/errors.js';
import { conformanceCase, info, met, unsupported, violated, type CaseOutcome } from '../support/case.js';
import { judgeBytes } from '../support/request.js';
import { ipv6AddressOf } from '../support/ipv6-address.js';

const small = (id: string) => (): Buffer => Buffer.from(`echolot ${id} ${nonce()}`, 'latin1');

/** How long case 8.1 keeps listening for a second reply to its small request. */
const GRACE_MS = 250;

/** Sizes of the ladder in flight at once (as in case 3.1). */
const LADDER_CONCURRENCY = 8;

/** Socket buffers large enough for the biggest datagrams. */
const BIG_BUFFER = 1 << 20;

/** 127/8 aliases every Linux host has on lo (case 8.2 also asks through them). */
const LOOPBACK_ALIASES = ['127.0.0.2', '127.1.2.3'];

/** One named check of case 8.1 and what it found. */
interface Row {
  readonly check: string;
  readonly outcome: CaseOutcome;
  readonly r?: ExchangeResult;
}

/** One of the section 1-3 checks over IPv6: bytes judged like case 2.1/3.1, plus the port and duplicates where asked. */
async function check6(
  run: ActiveRun,
  to: Endpoint,
  check: string,
  make: () => Uint8Array,
  extras: Partial<ExchangeRequest> = {},
): Promise<Row> {
  const base = { to, family: 'IPv6' as const, timeoutMs: run.options.timeoutMs, ...extras };
  const r = await exchangeWithRetry(base, make, run.options.retries);
  let outcome = judgeBytes(run, r);
  if (outcome.status === 'met' && r.reply && r.reply.from.port !== to.port) {
    outcome = violated(
      `the reply came from port ${r.reply.from.port}, not ${to.port}`,
      outcome.evidence,
      r.attempts,
    );
  }
  if (outcome.status === 'met' && r.extra.length > 0) {
    outcome = violated(`${1 + r.extra.length} replies to one request`, outcome.evidence, r.attempts);
  }
  return { check, outcome, r };
}

/** The reply of one IPv4 request to a dual-stack server: its source as the client saw it. */
interface V4Probe {
  readonly address: string;
  readonly from?: string;
  readonly rawFrom?: string;
  readonly family?: string;
  readonly why?: string;
  readonly attempts: number;
  readonly evidence: Record<string, unknown>;
}

async function probeV4(run: ActiveRun, address: string): Promise<V4Probe> {
  const to = { address, port: run.target.port };
  for (let attempt = 1; ; attempt++) {
    const payload = small('8.2')();
    const o = await dualExchange(to, 'IPv4', payload, run.options.timeoutMs);
    const base = { to: formatEndpoint(address, to.port), attempts: attempt };
    if (o.kind === 'reply') {
      const raw = o.reply.from.address;
      return {
        address,
        from: normalizeAddress(raw),
        rawFrom: raw,
        family: o.reply.from.family,
        attempts: attempt,
        evidence: {
          ...base,
          replyFrom: formatEndpoint(raw, o.reply.from.port),
          replyFamily: o.reply.from.family,
          local: formatEndpoint(o.local.address, o.local.port),
          seenBy: `${o.via} socket`,
          comparison: comparePayloads(payload, o.reply.data),
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

/** The zone of a scoped address as an interface name (numeric zones mapped through the interface list). */
function zoneName(address: string): string | undefined {
  const zone = address.split('%')[1];
  if (zone === undefined || !/^\d+$/.test(zone)) return zone;
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (list?.some((i) => i.scopeid === Number(zone))) return name;
  }
  return zone;
}

const isLinkLocal = (address: string): boolean => /^fe[89ab][0-9a-f]:/i.test(address);

/** Sends to a scoped link-local address and grades whether the reply kept the address and the scope. */
async function linkLocalOutcome(
  run: ActiveRun,
  to: Endpoint,
  context: Record<string, unknown>,
): Promise<CaseOutcome> {
  const r = await exchangeWithRetry(
    { to, family: 'IPv6', timeoutMs: run.options.timeoutMs },
    small('8.3'),
    run.options.retries,
  );
  const evidence = { ...context, exchange: exchangeEvidence(r) };
  if (!r.reply)
    return info(
      `${noReplyPhrase(r, run.options.timeoutMs)} from ${formatEndpoint(to.address, to.port)}`,
      evidence,
    );
  const from = r.reply.from.address;
  const sameAddress = normalizeAddress(from) === normalizeAddress(to.address);
  const sameScope = zoneName(from) === zoneName(to.address);
  const cmp = comparePayloads(r.request.payload, r.reply.data);
  const where = `sent to ${to.address}, answered from ${from}`;
  if (!cmp.equal) return violated(`${where}: ${cmp.summary}`, evidence, r.attempts);
  if (!sameAddress || !sameScope) {
    return violated(`${where}: ${sameAddress ? 'another scope' : 'another address'}`, evidence, r.attempts);
  }
  return met(`${where}: same address and scope`, evidence, r.attempts);
}

describe('8 IPv6 and dual stack', () => {
  conformanceCase('8.1', async (run) => {
    const found = await ipv6AddressOf(run);
    if (found.kind === 'unknown') return unsupported(found.reason);
    const to = { address: found.address, port: run.target.port };
    const at = formatEndpoint(to.address, to.port);
    // An address derived from an IPv4 target may simply not be served: that is no IPv6 failure.
    if (!found.isTarget) {
      const seen = await dualExchange(to, 'IPv6', small('8.1')(), run.options.timeoutMs);
      if (seen.kind !== 'reply') {
        const why = seen.kind === 'fault' ? seen.fault.errno : 'no reply';
        return unsupported(
          `the server does not answer over IPv6 at ${at} (${why}; ${found.how}): IPv4 only?`,
        );
      }
    }
    const rows: Row[] = [];
    rows.push(await check6(run, to, 'small datagram once (1.1, 1.4)', small('8.1'), { graceMs: GRACE_MS }));
    rows.push(await check6(run, to, 'zero-length (1.2)', () => Buffer.alloc(0)));
    rows.push(await check6(run, to, 'all 256 byte values (2.1)', () => allByteValues()));
    for (const [where, hex] of [
      ['start', '006563686f6c6f7420382e31'],
      ['middle', '6563686f006c6f7420382e31'],
      ['end', '6563686f6c6f7420382e3100'],
    ] as const) {
      rows.push(await check6(run, to, `NUL at the ${where} (2.2)`, () => Buffer.from(hex, 'hex')));
    }
    const limit = pLimit(LADDER_CONCURRENCY);
    const ladder = await Promise.all(
      SIZE_LADDER.map((size) =>
        limit(() =>
          check6(run, to, `${size} bytes (3.1)`, () => patternPayload(size), { bufferBytes: BIG_BUFFER }),
        ),
      ),
    );
    rows.push(...ladder);
    let maxNote = '';
    if (run.capabilities.maxDatagram.IPv6 >= MAX_PAYLOAD_IPV6) {
      try {
        rows.push(
          await check6(run, to, `${MAX_PAYLOAD_IPV6} bytes (3.3)`, () => patternPayload(MAX_PAYLOAD_IPV6), {
            bufferBytes: BIG_BUFFER,
          }),
        );
      } catch (err) {
        if (errnoOf(err) !== 'EMSGSIZE') throw err;
        maxNote = `; ${MAX_PAYLOAD_IPV6} bytes not sent (EMSGSIZE)`;
      }
    } else {
      maxNote = `; ${MAX_PAYLOAD_IPV6} bytes not sent (this client cannot send them over IPv6)`;
    }
    const bad = rows.filter((row) => row.outcome.status !== 'met');
    const attempts = Math.max(...rows.map((row) => row.r?.attempts ?? 1));
    const evidence = {
      address: at,
      why: found.how,
      checks: rows.map((row) => ({ check: row.check, result: row.outcome.message })),
      ...(bad[0]?.r ? { firstFailure: exchangeEvidence(bad[0].r) } : {}),
    };
    if (bad.length > 0) {
      const more =
        bad.length > 1
          ? `; also ${bad
              .slice(1, 5)
              .map((b) => b.check)
              .join(', ')}${bad.length > 5 ? ', ...' : ''}`
          : '';
      return violated(
        `over IPv6 at ${at}, ${bad.length} of ${rows.length} checks wrong; first: ${bad[0]?.check}: ${bad[0]?.outcome.message}${more}`,
        evidence,
        attempts,
      );
    }
    return met(
      `over IPv6 at ${at} (${found.how}) all ${rows.length} checks of sections 1-3 passed${maxNote}`,
      evidence,
      attempts,
    );
  });

  conformanceCase('8.2', async (run) => {
    const caps = run.capabilities;
    if (run.target.family !== 'IPv4')
      return unsupported('the target is IPv6; this case is about IPv4 clients');
    const target = normalizeAddress(run.target.address);
    if (!isLoopback(target) && !caps.localAddresses.includes(target)) {
      return unsupported(
        `the target ${target} is not on this host, so whether it is dual-stack cannot be seen`,
      );
    }
    if (!caps.ipv6Loopback) return unsupported('this host has no ::1, so no server on it is dual-stack');
    const v6 = { address: '::1', port: run.target.port };
    const seen = await dualExchange(v6, 'IPv6', small('8.2')(), run.options.timeoutMs);
    if (seen.kind !== 'reply') {
      const why = seen.kind === 'fault' ? seen.fault.errno : 'no reply';
      return unsupported(
        `not a dual-stack server: no answer over IPv6 at ${formatEndpoint('::1', v6.port)} (${why})`,
      );
    }
    const viaAliases = caps.linux && caps.loopbackAliases && isLoopback(target);
    const addresses = [target, ...(viaAliases ? LOOPBACK_ALIASES.filter((a) => a !== target) : [])];
    const probes = await Promise.all(addresses.map((a) => probeV4(run, a)));
    const evidence = {
      ipv6Answer: formatEndpoint(seen.reply.from.address, seen.reply.from.port),
      ...Object.fromEntries(probes.map((p) => [p.address, p.evidence])),
    };
    const attempts = Math.max(...probes.map((p) => p.attempts));
    const wrong = probes.filter((p) => p.from !== undefined && (p.from !== p.address || p.family !== 'IPv4'));
    if (wrong.length > 0) {
      const list = wrong
        .map((p) => `sent to ${p.address}, answered from ${p.rawFrom} (${p.family})`)
        .join('; ');
      return violated(`reply from the wrong address: ${list}`, evidence, attempts);
    }
    const served = probes.filter((p) => p.from !== undefined).map((p) => p.address);
    if (!served.includes(target)) {
      return violated(
        `no reply over IPv4 at ${target} (${probes[0]?.why ?? 'no reply'})`,
        evidence,
        attempts,
      );
    }
    const unserved = probes.filter((p) => p.from === undefined).map((p) => `${p.address} (${p.why})`);
    const note = unserved.length ? `; not served, nothing misaddressed: ${unserved.join(', ')}` : '';
    return met(
      `a dual-stack server (it answers on ::1 too) answered IPv4 requests over IPv4 from ${served.join(' and ')}${note}`,
      evidence,
      attempts,
    );
  });

  conformanceCase('8.3', async (run) => {
    const target = run.target.address;
    if (run.target.family === 'IPv6' && isLinkLocal(target)) {
      if (!target.includes('%')) {
        return unsupported(
          `the link-local target ${target} has no scope id: write it as [${target}%IFACE]:PORT`,
        );
      }
      return linkLocalOutcome(run, { address: target, port: run.target.port }, { target });
    }
    if (!run.embedded) {
      return unsupported(
        'give a link-local target with its scope id, e.g. [fe80::1%eth0]:7, to check link-local replies',
      );
    }
    if (!run.capabilities.netns) {
      return unsupported(
        'the embedded default is checked on a test host, which needs root and the ip command',
      );
    }
    // The embedded server binds only loopback addresses; the same reference server on a veth link has a real scope.
    const host = await createTestHost({ linkLocal: true });
    try {
      const ll = host.linkLocal;
      if (!ll) throw new Error('test host without link-local addresses');
      const server = await startReferenceServerIn(host, { bind: [ll.inside] });
      try {
        return await linkLocalOutcome(
          run,
          { address: ll.peer, port: server.port },
          { testHost: host.name, server: `reference server in ${host.name}: ${server.listening}` },
        );
      } finally {
        await server.stop();
      }
    } finally {
      await host.remove();
    }
  });
});
