import pLimit from 'p-limit';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoOf } from '../../../harness/errors.js';
import { request } from '../../../harness/conformance/request.js';
import { SETTLE_MS, echoAfter } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 10.1: clients that vanish before their reply, opened this many at a time. */
const VANISHING = { clients: 1000, concurrency: 100 };

/** 10.1: a port-unreachable storm from 1000 vanished clients does not stop the server. */
export const case10_1: ConformanceCase = {
  id: '10.1',
  title: 'a port-unreachable storm from 1000 vanished clients does not stop the server',
  klass: 'MUST',
  requirement:
    '1000 clients close their sockets before their replies arrive (each reply draws an ICMP port unreachable back at the server); a normal echo afterwards still succeeds.',
  source: 'RFC 1122 4.1.3.3 (ICMP errors reach the application), RFC 862',
  provenBy: ['dies-on-port-unreachable'],
  disturbs: 'flood',
  run: async (ctx) => {
    const to = { address: ctx.target.address, port: ctx.target.port };
    const baseline = await request(ctx, () => ctx.wire.text('baseline'));
    const clients = ctx.timing.floodCount(VANISHING.clients);
    const limit = pLimit(VANISHING.concurrency);
    let sent = 0;
    const errors = new Map<string, number>();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: clients }, (_, i) =>
        limit(async () => {
          const client = await ctx.wire.open();
          try {
            await ctx.wire.send(client, ctx.wire.text(`vanishing ${i}`), { to, expect: 'any' });
            sent++;
          } catch (err) {
            const code = errnoOf(err) ?? 'unknown';
            errors.set(code, (errors.get(code) ?? 0) + 1);
          } finally {
            // Closed at once: the reply finds no socket and the kernel answers it with ICMP port unreachable.
            await ctx.wire.close(client);
          }
        }),
      ),
    );
    const stormMs = Date.now() - started;
    await sleep(SETTLE_MS);
    return echoAfter(
      ctx,
      `${sent} clients closed before their replies (${stormMs} ms)`,
      baseline,
      {
        vanishingClients: clients,
        sent,
        sendErrors: Object.fromEntries(errors),
        stormMs,
        settleMs: SETTLE_MS,
      },
      sent,
    );
  },
};
