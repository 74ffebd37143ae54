import pLimit from 'p-limit';
import { nonce } from '../../harness/probes/payloads.js';
import { exchangeEvidence } from '../../harness/probes/exchange.js';
import { EchoClient, nowNs, type Datagram } from '../../harness/net/echo-client.js';
import { formatEndpoint } from '../../harness/spec/target.js';
import { conformanceCase, info, met, violated } from '../support/case.js';
import { judgeBytes, request } from '../support/request.js';

/** Requests of case 5.1, each from its own socket. */
const REQUESTS = 8;

/** How long after the first reply a second one still counts as a duplicate. */
const GRACE_MS = 400;

/** How long a client socket stays idle after its reply in case 5.2. */
const IDLE_MS = 500;

/** Numbered datagrams in the burst of case 5.3. */
const BURST = 50;

/** A datagram as evidence: where from, how long, the first bytes as text. */
const describe5 = (d: Datagram): Record<string, unknown> => ({
  from: formatEndpoint(d.from.address, d.from.port),
  length: d.data.length,
  text: d.data.toString('latin1', 0, 48),
});

/** Inversions (pairs out of order) and the largest displacement of a received sequence of numbers. */
function reorderingOf(order: readonly number[]): { inversions: number; maxDisplacement: number } {
  let inversions = 0;
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) if ((order[i] ?? 0) > (order[j] ?? 0)) inversions++;
  }
  const sorted = [...order].sort((a, b) => a - b);
  const rank = new Map(sorted.map((n, i) => [n, i]));
  const maxDisplacement = Math.max(0, ...order.map((n, i) => Math.abs((rank.get(n) ?? i) - i)));
  return { inversions, maxDisplacement };
}

describe('5 Reply cardinality', () => {
  conformanceCase('5.1', async (run) => {
    const limit = pLimit(REQUESTS);
    const results = await Promise.all(
      Array.from({ length: REQUESTS }, () =>
        limit(() =>
          request(run, () => Buffer.from(`echolot 5.1 ${nonce()}`, 'latin1'), { graceMs: GRACE_MS }),
        ),
      ),
    );
    const attempts = Math.max(...results.map((r) => r.attempts));
    const evidence = {
      requests: REQUESTS,
      graceMs: GRACE_MS,
      repliesPerRequest: results.map((r) => (r.reply ? 1 + r.extra.length : 0)),
    };
    const unanswered = results.find((r) => !r.reply);
    if (unanswered) return judgeBytes(run, unanswered);
    const dup = results.find((r) => r.extra.length > 0);
    if (dup) {
      return violated(
        `${1 + dup.extra.length} replies to one request within ${GRACE_MS} ms (${results.filter((r) => r.extra.length > 0).length} of ${REQUESTS} requests duplicated)`,
        { ...evidence, exchange: exchangeEvidence(dup) },
        attempts,
      );
    }
    return met(
      `each of ${REQUESTS} requests got exactly one reply (grace window ${GRACE_MS} ms)`,
      evidence,
      attempts,
    );
  });

  conformanceCase('5.2', async (run) => {
    const client = await EchoClient.open({ family: run.target.family });
    const to = { address: run.target.address, port: run.target.port };
    try {
      // Every payload sent, so a late reply to a timed-out attempt is recognised as solicited.
      const sent: Buffer[] = [];
      const unsolicited: Datagram[] = [];
      let attempts = 0;
      let reply: Datagram | undefined;
      let sentAt = 0n;
      for (let attempt = 1; attempt <= run.options.retries + 1 && !reply; attempt++) {
        attempts = attempt;
        const payload = Buffer.from(`echolot 5.2 ${nonce()}`, 'latin1');
        sent.push(payload);
        sentAt = nowNs();
        await client.send(payload, to);
        const deadline = Date.now() + run.options.timeoutMs;
        while (!reply) {
          const o = await client.receive(deadline - Date.now());
          if (o.kind === 'timeout') break;
          if (o.kind === 'fault') continue;
          // A late reply to an earlier attempt is solicited; otherwise the first datagram is this
          // request's reply, whatever its bytes (those are judged by sections 1-3).
          const earlier = sent.slice(0, -1).some((p) => p.equals(o.datagram.data));
          if (!earlier) reply = o.datagram;
        }
      }
      const local = client.local();
      const base = {
        local: formatEndpoint(local.address, local.port),
        to: formatEndpoint(to.address, to.port),
        idleMs: IDLE_MS,
        ...(reply ? { replyFrom: formatEndpoint(reply.from.address, reply.from.port) } : {}),
      };
      if (!reply) {
        return violated(
          `no reply within ${run.options.timeoutMs} ms after ${attempts} attempts`,
          { ...base, unsolicited: unsolicited.map(describe5) },
          attempts,
        );
      }
      // A late reply to an earlier (timed-out) attempt is solicited, once; anything else is not.
      const late = new Set(sent.slice(0, -1).map((p) => p.toString('latin1')));
      for (const d of await client.drain(IDLE_MS)) {
        const key = d.data.toString('latin1');
        if (late.delete(key)) continue;
        unsolicited.push(d);
      }
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
        const copy = sent.some((p) => p.equals(first.data)) ? ', a copy of the request' : '';
        return violated(
          `${unsolicited.length} unsolicited datagram${unsolicited.length === 1 ? '' : 's'} after the reply; first: ${first.data.length} bytes from ${formatEndpoint(first.from.address, first.from.port)}${copy} ${(Number(first.atNs - sentAt) / 1e6).toFixed(0)} ms after the request`,
          evidence,
          attempts,
        );
      }
      return met(`nothing arrived in ${IDLE_MS} ms of idleness after the reply`, evidence, attempts);
    } finally {
      await client.close();
    }
  });

  conformanceCase('5.3', async (run) => {
    const client = await EchoClient.open({ family: run.target.family, bufferBytes: 1 << 20 });
    const to = { address: run.target.address, port: run.target.port };
    try {
      const tag = nonce();
      const payloads = Array.from({ length: BURST }, (_, i) =>
        Buffer.from(`echolot 5.3 ${tag} ${String(i).padStart(3, '0')}`, 'latin1'),
      );
      const index = new Map(payloads.map((p, i) => [p.toString('latin1'), i]));
      for (const p of payloads) await client.send(p, to);
      const order: number[] = [];
      const seen = new Set<number>();
      let duplicates = 0;
      let foreign = 0;
      // Replies keep arriving while the burst drains; stop at the full count or a quiet timeout, bounded overall.
      const deadline = Date.now() + 2 * run.options.timeoutMs;
      while (seen.size < BURST && Date.now() < deadline) {
        const o = await client.receive(Math.min(run.options.timeoutMs, deadline - Date.now()));
        if (o.kind === 'timeout') break;
        if (o.kind === 'fault') continue;
        const i = index.get(o.datagram.data.toString('latin1'));
        if (i === undefined) foreign++;
        else if (seen.has(i)) duplicates++;
        else {
          seen.add(i);
          order.push(i);
        }
      }
      const { inversions, maxDisplacement } = reorderingOf(order);
      const evidence = {
        burst: BURST,
        received: order.length,
        lost: BURST - order.length,
        duplicates,
        foreign,
        inversions,
        maxDisplacement,
        order,
      };
      const notes = [
        ...(BURST - order.length > 0 ? [`${BURST - order.length} lost`] : []),
        ...(duplicates > 0 ? [`${duplicates} duplicates`] : []),
        ...(foreign > 0 ? [`${foreign} not from this burst`] : []),
      ];
      const tail = notes.length ? `; ${notes.join(', ')}` : '';
      if (inversions === 0) {
        return info(`${order.length} of ${BURST} replies came back in order${tail}`, evidence);
      }
      return info(
        `${order.length} of ${BURST} replies came back reordered: ${inversions} inverted pairs, displaced by up to ${maxDisplacement} places${tail}`,
        evidence,
      );
    } finally {
      await client.close();
    }
  });
});
