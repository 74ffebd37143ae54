import type { Datagram } from '../../../harness/net/echo-client.js';
import { exchangeOn } from '../../../harness/conformance/exchange.js';
import { met, violated } from '../../../harness/conformance/case.js';
import { formatEndpoint } from '../../../harness/core/address.js';
import { escapeBytes } from '../../../harness/core/escape.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** How long a client socket stays idle after its reply in case 5.2. */
const IDLE_MS = 500;

/** A datagram as evidence: where from, how long, the first bytes as escaped text. */
const describe5 = (d: Datagram): Record<string, unknown> => ({
  from: formatEndpoint(d.from.address, d.from.port),
  length: d.data.length,
  text: escapeBytes(d.data, 48),
});

/** 5.2: no unsolicited datagrams on an idle client socket. */
export const case5_2: ConformanceCase = {
  id: '5.2',
  title: 'no unsolicited datagrams on an idle client socket',
  klass: 'MUST',
  requirement:
    'After its one request has been answered, an idle client socket receives nothing more (no keepalives, strays or late copies).',
  source: 'RFC 862',
  provenBy: ['duplicate', 'stray-keepalive', 'late-duplicate'],
  run: async (ctx) => {
    const idleMs = ctx.timing.windowMs(IDLE_MS);
    const client = await ctx.wire.open();
    const to = { address: ctx.target.address, port: ctx.target.port };
    try {
      const r = await exchangeOn(ctx.wire, client, () => ctx.wire.text(), ctx.timing);
      const attempts = r.attempts;
      const reply = r.reply;
      const base = {
        local: formatEndpoint(client.local.address, client.local.port),
        to: formatEndpoint(to.address, to.port),
        idleMs,
        ...(reply ? { replyFrom: formatEndpoint(reply.from.address, reply.from.port) } : {}),
      };
      if (!reply) {
        return violated(
          `no reply within ${ctx.timing.timeoutMs} ms after ${attempts} attempts`,
          base,
          attempts,
        );
      }
      const sentAt = reply.atNs - (r.rttNs ?? 0n);
      // A late first reply to an earlier (timed-out) attempt is solicited; anything else is not.
      const unsolicited = [...r.strays, ...(await client.drain(idleMs, ctx.wire.signal))]
        .filter(
          (a) => a.kind !== 'late' && a.kind !== 'foreign' && !(a.kind === 'reply' && a.socket === client),
        )
        .map((a) => a.datagram);
      const evidence = {
        ...base,
        unsolicited: unsolicited.slice(0, 10).map((d) => ({
          ...describe5(d),
          afterRequestMs: Number(d.atNs - sentAt) / 1e6,
        })),
        unsolicitedCount: unsolicited.length,
      };
      const first = unsolicited[0];
      if (first) {
        const copy = first.data.equals(Buffer.from(r.request.payload)) ? ', a copy of the reply' : '';
        return violated(
          `${unsolicited.length} unsolicited datagram${unsolicited.length === 1 ? '' : 's'} after the reply; first: ${first.data.length} bytes from ${formatEndpoint(first.from.address, first.from.port)}${copy} ${(Number(first.atNs - sentAt) / 1e6).toFixed(0)} ms after the request`,
          evidence,
          attempts,
        );
      }
      return met(`nothing arrived in ${idleMs} ms of idleness after the reply`, evidence, attempts);
    } finally {
      client.release();
    }
  },
};
