import pLimit from 'p-limit';
import { exchangeOn } from '../../../harness/conformance/exchange.js';
import type { LedgerSocket } from '../../../harness/conformance/ledger.js';
import { met, violated } from '../../../harness/conformance/case.js';
import { formatEndpoint } from '../../../harness/core/address.js';
import { preview, openClients } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Concurrent clients of case 6.1 (all in flight at once through p-limit). */
const CLIENTS = 32;

/** Requests each client of case 6.1 sends, one after another. */
const REQUESTS_PER_CLIENT = 4;

/** What one client of case 6.1 saw. */
interface ClientReport {
  readonly client: number;
  readonly port: number;
  readonly attempts: number;
  /** Late or repeated replies to this client's own earlier requests (tolerated). */
  readonly stale: number;
  readonly problem?: string;
}

/** 6.1: 32 concurrent clients each receive only their own replies. */
export const case6_1: ConformanceCase = {
  id: '6.1',
  title: '32 concurrent clients each receive only their own replies',
  klass: 'MUST',
  requirement:
    'Concurrent clients with unique nonces, each sending several requests, receive only their own replies.',
  source: 'RFC 862, RFC 768',
  provenBy: ['shared-peer', 'pad-to-64', 'batch-off-by-one'],
  run: async (ctx) => {
    const to = { address: ctx.target.address, port: ctx.target.port };
    const count = ctx.timing.scale(CLIENTS, 4, false);
    const clients = await openClients(ctx, count);
    const index = new Map(clients.map((c, k) => [c, k]));
    try {
      const one = async (client: LedgerSocket, k: number): Promise<ClientReport> => {
        const port = client.local.port;
        let stale = 0;
        let maxAttempts = 1;
        for (let i = 0; i < REQUESTS_PER_CLIENT; i++) {
          const r = await exchangeOn(
            ctx.wire,
            client,
            () => ctx.wire.text(`client ${k} request ${i}`),
            ctx.timing,
          );
          maxAttempts = Math.max(maxAttempts, r.attempts);
          // A late or repeated reply to this client's own earlier request is tolerated here (the ledger judges copies).
          stale += r.strays.filter((a) => a.request?.socket === client).length;
          const theirs = r.strays.find((a) => a.kind === 'misdelivered');
          if (theirs) {
            const from = theirs.request ? index.get(theirs.request.socket) : undefined;
            return {
              client: k,
              port,
              attempts: r.attempts,
              stale,
              problem: `request ${i}: got client ${from ?? '?'}'s reply`,
            };
          }
          if (!r.reply) {
            return {
              client: k,
              port,
              attempts: maxAttempts,
              stale,
              problem: `request ${i}: no reply within ${ctx.timing.timeoutMs} ms after ${r.attempts} attempts`,
            };
          }
          if (!r.reply.data.equals(Buffer.from(r.request.payload))) {
            return {
              client: k,
              port,
              attempts: r.attempts,
              stale,
              problem: `request ${i}: got a datagram no client sent: ${preview(r.reply)}`,
            };
          }
        }
        return { client: k, port, attempts: maxAttempts, stale };
      };
      const limit = pLimit(ctx.timing.concurrency(count));
      const reports = await Promise.all(clients.map((c, k) => limit(() => one(c, k))));
      const bad = reports.filter((r) => r.problem !== undefined);
      const attempts = Math.max(...reports.map((r) => r.attempts));
      const evidence = {
        clients: count,
        requestsPerClient: REQUESTS_PER_CLIENT,
        to: formatEndpoint(to.address, to.port),
        staleOwnReplies: reports.reduce((n, r) => n + r.stale, 0),
        problems: bad.slice(0, 20).map((b) => `client ${b.client} (port ${b.port}): ${b.problem}`),
        problemCount: bad.length,
      };
      const first = bad[0];
      if (first) {
        return violated(
          `${bad.length} of ${count} clients did not get only their own replies; first: client ${first.client} (port ${first.port}), ${first.problem}`,
          evidence,
          attempts,
        );
      }
      return met(
        `${count} concurrent clients sent ${REQUESTS_PER_CLIENT} requests each and received only their own replies`,
        evidence,
        attempts,
      );
    } finally {
      for (const c of clients) c.release();
    }
  },
};
