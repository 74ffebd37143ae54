import { type Datagram } from '../../../harness/net/echo-client.js';
import { met, violated } from '../../../harness/conformance/case.js';
import { formatEndpoint } from '../../../harness/core/address.js';
import { GRACE_MS, preview, openClients } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Clients of case 6.2 that send the same bytes at the same moment. */
const SAME_PAYLOAD_CLIENTS = 12;

/** 6.2: identical payloads from different clients each go back to their own sender. */
export const case6_2: ConformanceCase = {
  id: '6.2',
  title: 'identical payloads from different clients each go back to their own sender',
  klass: 'MUST',
  requirement:
    'When several clients send the same bytes at once, every client receives exactly one copy (no coalescing by content).',
  source: 'RFC 862',
  provenBy: ['shared-peer', 'duplicate', 'pad-to-64', 'payload-cache'],
  run: async (ctx) => {
    const to = { address: ctx.target.address, port: ctx.target.port };
    const clients = await openClients(ctx, ctx.timing.scale(SAME_PAYLOAD_CLIENTS, 3, false));
    try {
      const earlier = new Set<string>();
      const problems: string[] = [];
      const copiesPerClient = new Array<number>(clients.length).fill(0);
      let group = clients.map((_, k) => k);
      let attempts = 0;
      for (let attempt = 1; attempt <= ctx.timing.attempts && group.length > 0; attempt++) {
        attempts = attempt;
        // One payload for the whole group, sent by every client at the same moment.
        const payload = ctx.wire.text();
        const text = payload.toString('latin1');
        const copies = new Map(group.map((k) => [k, 0]));
        const judge = (k: number, d: Datagram): boolean => {
          const got = d.data.toString('latin1');
          if (got === text) {
            copies.set(k, (copies.get(k) ?? 0) + 1);
            return true;
          }
          // A late reply to a timed-out earlier attempt: it carries no new information.
          if (earlier.has(got)) return false;
          problems.push(`client ${k}: got a datagram that is not the shared payload: ${preview(d)}`);
          return false;
        };
        await Promise.all(
          group.map(async (k) => {
            const c = clients[k];
            if (c) await ctx.wire.send(c, payload);
          }),
        );
        await Promise.all(
          group.map(async (k) => {
            const client = clients[k];
            if (!client) return;
            // Sent at once: a target that serves one at a time answers the last one after the others.
            const deadline = Date.now() + ctx.timing.timeoutMs + ctx.timing.backlogMs(group.length);
            for (;;) {
              const o = await client.next(deadline - Date.now(), ctx.wire.signal);
              if (o.kind === 'timeout') return;
              if (o.kind === 'arrival' && judge(k, o.arrival.datagram)) return;
            }
          }),
        );
        // Every client got its first copy (or timed out); now a further copy anywhere is a duplicate.
        await Promise.all(
          group.map(async (k) => {
            for (const a of (await clients[k]?.drain(GRACE_MS, ctx.wire.signal)) ?? []) judge(k, a.datagram);
          }),
        );
        earlier.add(text);
        // More than one copy to a client is a breach the ledger records (and tells from path duplication).
        for (const [k, n] of copies) copiesPerClient[k] = n;
        if (problems.length > 0) break;
        const unanswered = group.filter((k) => copies.get(k) === 0);
        // A retry that was answered: the path lost the earlier attempt (the run then tries more often).
        if (attempt > 1 && unanswered.length < group.length) ctx.wire.retryAnswered();
        group = unanswered;
      }
      const evidence = {
        clients: clients.length,
        ports: clients.map((c) => c.local.port),
        to: formatEndpoint(to.address, to.port),
        copiesPerClient,
        graceMs: GRACE_MS,
        problems: problems.slice(0, 20),
      };
      if (problems.length > 0) {
        const without = copiesPerClient.filter((n) => n === 0).length;
        return violated(
          `identical payloads from ${clients.length} clients: ${problems[0]}` +
            (without > 0 ? `; ${without} clients got no copy` : '') +
            (problems.length > 1 ? ` (${problems.length} problems)` : ''),
          evidence,
          attempts,
        );
      }
      if (group.length > 0) {
        return violated(
          `${group.length} of ${clients.length} clients sending identical payloads got no reply within ${ctx.timing.timeoutMs} ms after ${attempts} attempts`,
          evidence,
          attempts,
        );
      }
      return met(
        `${clients.length} clients sent identical payloads at once and each got exactly one copy`,
        evidence,
        attempts,
      );
    } finally {
      for (const c of clients) c.release();
    }
  },
};
