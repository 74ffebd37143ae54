import { exchangeOn } from '../../../harness/conformance/exchange.js';
import { met, unsupported, violated } from '../../../harness/conformance/case.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Client sockets of case 4.6, and requests each sends in turn. */
const PORT_CLIENTS = 4;

const REQUESTS_PER_CLIENT = 3;

/** 4.6: every reply leaves from the echo port (no per-request or per-client sockets). */
export const case4_6: ConformanceCase = {
  id: '4.6',
  title: 'every reply leaves from the echo port (no per-request or per-client sockets)',
  klass: 'MUST',
  requirement:
    'Several requests from several client sockets (each sending more than once) are all answered from the one port the requests were sent to.',
  source: 'RFC 862, RFC 768',
  provenBy: ['fresh-socket', 'session-socket'],
  run: async (ctx) => {
    const rows: { client: number; request: number; replyPorts: number[]; attempts: number }[] = [];
    let stoppedEarly = '';
    // One client at a time, so servers that mix up concurrent clients do not blur this case.
    outer: for (let c = 0; c < PORT_CLIENTS; c++) {
      const client = await ctx.wire.open();
      try {
        const port = client.local.port;
        for (let k = 1; k <= REQUESTS_PER_CLIENT; k++) {
          // The socket is the identity under test, so retries reuse it with a fresh payload.
          const r = await exchangeOn(
            ctx.wire,
            client,
            () => ctx.wire.text(`client ${port} request ${k}`),
            ctx.timing,
          );
          // Every datagram counts for its source port: the reply and whatever else this client got.
          const replyPorts = [
            ...r.strays.filter((s) => s.kind !== 'foreign').map((s) => s.datagram.from.port),
            ...(r.reply ? [r.reply.from.port] : []),
          ];
          rows.push({ client: port, request: k, replyPorts, attempts: r.attempts });
          if (!r.reply) {
            stoppedEarly = `client port ${port} request ${k}: no matching reply within ${ctx.timing.timeoutMs} ms after ${r.attempts} attempts`;
            break outer;
          }
        }
      } finally {
        client.release();
      }
    }
    const ports = [...new Set(rows.flatMap((r) => r.replyPorts))];
    const attempts = Math.max(1, ...rows.map((r) => r.attempts));
    const evidence = {
      targetPort: ctx.target.port,
      replySourcePorts: ports,
      requests: rows.map((r) => ({
        client: r.client,
        request: r.request,
        replyPorts: r.replyPorts,
        attempts: r.attempts,
      })),
      ...(stoppedEarly ? { stoppedEarly } : {}),
    };
    const wrong = rows.filter((r) => r.replyPorts.some((p) => p !== ctx.target.port));
    if (wrong.length > 0) {
      const list = wrong
        .slice(0, 4)
        .map(
          (r) =>
            `client ${r.client} request ${r.request} answered from port ${r.replyPorts.filter((p) => p !== ctx.target.port).join(',')}`,
        )
        .join('; ');
      return violated(
        `replies came from ${ports.length} ports (${ports.join(', ')}), not only from ${ctx.target.port}: ${list}`,
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
      `${answered} replies to ${new Set(rows.map((r) => r.client)).size} client sockets all came from port ${ctx.target.port}${note}`,
      evidence,
      attempts,
    );
  },
};
