import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Datagram } from '../../../harness/net/echo-client.js';
import { met, violated } from '../../../harness/conformance/case.js';
import { formatEndpoint } from '../../../harness/core/address.js';
import { GRACE_MS, preview } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Bursts of case 6.3 and datagrams per burst. */
const BURSTS = 4;

const BURST_SIZE = 16;

/** 6.3: interleaved bursts on one socket map 1:1 to replies. */
export const case6_3: ConformanceCase = {
  id: '6.3',
  title: 'interleaved bursts on one socket map 1:1 to replies',
  klass: 'MUST',
  requirement:
    'Bursts of requests on one socket, sent while earlier replies are still arriving, get exactly one reply each (none lost for good, duplicated or replaced).',
  source: 'RFC 862',
  provenBy: ['duplicate', 'pad-to-64', 'per-peer-slot'],
  run: async (ctx) => {
    const to = { address: ctx.target.address, port: ctx.target.port };
    const client = await ctx.wire.open({ bufferBytes: 1 << 20 });
    try {
      const bursts = Math.max(
        1,
        Math.ceil(ctx.timing.scale(BURSTS * BURST_SIZE, BURST_SIZE, false) / BURST_SIZE),
      );
      const total = bursts * BURST_SIZE;
      const answered = new Set<string>();
      // Requests given up on after a timeout: their late reply is tolerated once.
      const superseded = new Set<string>();
      const sentAll = new Set<string>();
      const problems: string[] = [];
      let duplicates = 0;
      let pending = new Set<string>();
      let attempts = 0;
      let toSend = total;
      const judge = (d: Datagram): void => {
        const got = d.data.toString('latin1');
        if (pending.delete(got)) answered.add(got);
        else if (superseded.delete(got)) return;
        // A second reply to one request is a breach the ledger records (and tells from path duplication).
        else if (sentAll.has(got)) duplicates++;
        else problems.push(`a reply that matches no request: ${preview(d)}`);
      };
      for (let attempt = 1; attempt <= ctx.timing.attempts && toSend > 0; attempt++) {
        attempts = attempt;
        const batch = Array.from({ length: toSend }, (_, i) => {
          // One length for all, so a server that answers a request with another's bytes is caught by content alone.
          return ctx.wire.text(String(i).padStart(3, '0')).toString('latin1');
        });
        pending = new Set(batch);
        for (const t of batch) sentAll.add(t);
        for (let b = 0; b < batch.length; b += BURST_SIZE) {
          await Promise.all(
            batch.slice(b, b + BURST_SIZE).map((t) => ctx.wire.send(client, Buffer.from(t, 'latin1'))),
          );
          // Let the replies to this burst start arriving while the next burst goes out.
          await yieldToLoop();
        }
        // Sent at once: a target that serves one at a time answers the last one after the others.
        const deadline = Date.now() + ctx.timing.timeoutMs + ctx.timing.backlogMs(batch.length);
        while (pending.size > 0 && problems.length === 0) {
          const o = await client.next(deadline - Date.now(), ctx.wire.signal);
          if (o.kind === 'timeout') break;
          if (o.kind === 'arrival') judge(o.arrival.datagram);
        }
        if (problems.length > 0) break;
        // A retry that was answered: the path lost the earlier attempt (the run then tries more often).
        if (attempt > 1 && pending.size < batch.length) ctx.wire.retryAnswered();
        for (const t of pending) superseded.add(t);
        toSend = pending.size;
      }
      if (problems.length === 0 && pending.size === 0) {
        for (const a of await client.drain(GRACE_MS, ctx.wire.signal)) judge(a.datagram);
      }
      const local = client.local;
      const evidence = {
        local: formatEndpoint(local.address, local.port),
        to: formatEndpoint(to.address, to.port),
        bursts,
        burstSize: BURST_SIZE,
        requests: sentAll.size,
        answered: answered.size,
        duplicates,
        unanswered: pending.size,
        graceMs: GRACE_MS,
        problems: problems.slice(0, 20),
      };
      if (problems.length > 0) {
        return violated(
          `${problems.length} replies in ${bursts} interleaved bursts of ${BURST_SIZE} did not map 1:1 to requests; first: ${problems[0]}`,
          evidence,
          attempts,
        );
      }
      if (pending.size > 0) {
        return violated(
          `${pending.size} of ${total} requests in bursts got no reply within ${ctx.timing.timeoutMs} ms after ${attempts} attempts`,
          evidence,
          attempts,
        );
      }
      return met(
        `${total} requests in ${bursts} interleaved bursts of ${BURST_SIZE} on one socket each got exactly one reply`,
        evidence,
        attempts,
      );
    } finally {
      client.release();
    }
  },
};
