import pLimit from 'p-limit';
import { exchangeOn } from '../../../harness/conformance/exchange.js';
import { met, unsupported, violated, type ConformanceCase } from '../../../harness/conformance/case.js';
import { escapeBytes } from '../../../harness/core/escape.js';
import { comparePayloads } from '../../../harness/results/evidence.js';

/** Clients of case 4.5, all open at once. */
const MANY_CLIENTS = 200;

/** 4.5: 200 clients on distinct ephemeral ports each get their own reply. */
export const case4_5: ConformanceCase = {
  id: '4.5',
  title: '200 clients on distinct ephemeral ports each get their own reply',
  klass: 'MUST',
  requirement:
    'Many clients at once (200 sockets on distinct ephemeral ports) each receive exactly their own data.',
  source: 'RFC 862',
  provenBy: ['shared-peer', 'pad-to-64', 'batch-off-by-one', 'dies-mid-run'],
  run: async (ctx) => {
    const count = ctx.timing.scale(MANY_CLIENTS, 20, false, 8000);
    const clients = await Promise.all(Array.from({ length: count }, () => ctx.wire.open()));
    const ports = new Set(clients.map((c) => c.local.port));
    const limit = pLimit(ctx.timing.concurrency(50));
    const results = await Promise.all(
      clients.map((client) =>
        limit(async (): Promise<{ port: number; problem?: string; attempts: number }> => {
          const port = client.local.port;
          // The socket itself is the identity under test, so retries reuse it with a fresh payload.
          const r = await exchangeOn(ctx.wire, client, () => ctx.wire.text(`client ${port}`), ctx.timing);
          const other = r.strays.find((s) => s.kind === 'misdelivered');
          if (r.fault) return { port, problem: r.fault.errno, attempts: r.attempts };
          if (!r.reply) {
            const why = other
              ? `got another client's reply ('${escapeBytes(other.datagram.data, 64)}') but not its own`
              : `no reply within ${ctx.timing.timeoutMs} ms after ${r.attempts} attempts`;
            return { port, problem: why, attempts: r.attempts };
          }
          const cmp = comparePayloads(r.request.payload, r.reply.data);
          if (!cmp.equal) {
            const text = escapeBytes(r.reply.data, 64);
            return {
              port,
              problem: `got someone else's or damaged data: ${cmp.summary} ('${text}')`,
              attempts: r.attempts,
            };
          }
          return { port, attempts: r.attempts };
        }),
      ),
    );
    for (const c of clients) c.release();
    const bad = results.filter((r) => r.problem !== undefined);
    const attempts = Math.max(...results.map((r) => r.attempts));
    const evidence = {
      clients: clients.length,
      distinctPorts: ports.size,
      problems: bad.slice(0, 20).map((b) => `client port ${b.port}: ${b.problem}`),
      problemCount: bad.length,
    };
    if (ports.size !== clients.length) {
      return unsupported(`the OS gave ${clients.length} sockets only ${ports.size} distinct ports`, evidence);
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
  },
};
