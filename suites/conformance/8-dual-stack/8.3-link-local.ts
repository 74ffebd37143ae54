import { createTestHost } from '../../../harness/testhost/netns.js';
import { startReferenceServerIn } from '../../../harness/testhost/reference-in-netns.js';
import { met, info, unsupported, violated } from '../../../harness/conformance/case.js';
import type { CaseOutcome, ConformanceCase } from '../../../harness/conformance/case.js';
import type { CaseContext } from '../../../harness/conformance/context.js';
import { networkInterfaces } from 'os';
import { type Endpoint, formatEndpoint, normalizeAddress } from '../../../harness/core/address.js';
import { comparePayloads } from '../../../harness/results/evidence.js';
import { exchangeEvidence, noReplyPhrase } from '../../../harness/conformance/exchange.js';
import { request } from '../../../harness/conformance/request.js';
import { furtherLinkLocal } from '../support/ipv6-address.js';

const isLinkLocal = (address: string): boolean => /^fe[89ab][0-9a-f]:/i.test(address);

/** Sends to a scoped link-local address and grades whether the reply kept the address and the scope. */
async function linkLocalOutcome(
  ctx: CaseContext,
  to: Endpoint,
  context: Record<string, unknown>,
): Promise<CaseOutcome> {
  // The reply's address and scope are this case's finding (INFO), not a breach of the contract.
  const r = await request(ctx, () => ctx.wire.text(), { to, family: 'IPv6', addressJudgedByCase: true });
  const evidence = { ...context, exchange: exchangeEvidence(r) };
  if (!r.reply)
    return info(
      `${noReplyPhrase(r, ctx.timing.timeoutMs)} from ${formatEndpoint(to.address, to.port)}`,
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

/** The zone of a scoped address as an interface name (numeric zones mapped through the interface list). */
function zoneName(address: string): string | undefined {
  const zone = address.split('%')[1];
  if (zone === undefined || !/^\d+$/.test(zone)) return zone;
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (list?.some((i) => i.scopeid === Number(zone))) return name;
  }
  return zone;
}

/** 8.3: a link-local request is answered from the same address and scope. */
export const case8_3: ConformanceCase = {
  id: '8.3',
  title: 'a link-local request is answered from the same address and scope',
  klass: 'INFO',
  capability:
    'a link-local IPv6 target with a scope id, or one given with --target-addrs, or (embedded default) a test host in a network namespace',
  requirement:
    'A request to a link-local IPv6 address on one interface is answered from that address on that interface (same scope id).',
  source: 'RFC 4007 §6, RFC 1122 §4.1.3.5',
  provenBy: ['link-local-other-address'],
  run: async (ctx) => {
    const target = ctx.target.address;
    if (ctx.target.family === 'IPv6' && isLinkLocal(target)) {
      if (!target.includes('%')) {
        return unsupported(
          `the link-local target ${target} has no scope id: write it as [${target}%IFACE]:PORT`,
        );
      }
      return linkLocalOutcome(ctx, { address: target, port: ctx.target.port }, { target });
    }
    const given = furtherLinkLocal(ctx);
    if (given !== undefined) {
      // A further address of the target (a test host's link-local address, --target-addrs).
      return linkLocalOutcome(
        ctx,
        { address: given, port: ctx.target.port },
        { target: ctx.target.address, linkLocal: `${given} (--target-addrs)` },
      );
    }
    if (!ctx.target.embedded) {
      return unsupported(
        'give a link-local target with its scope id, e.g. [fe80::1%eth0]:7, or its link-local address with --target-addrs, to check link-local replies',
      );
    }
    if (!ctx.capabilities.netns) {
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
          ctx,
          { address: ll.peer, port: server.port },
          { testHost: host.name, server: `reference server in ${host.name}: ${server.listening}` },
        );
      } finally {
        await server.stop();
      }
    } finally {
      await host.remove();
    }
  },
};
