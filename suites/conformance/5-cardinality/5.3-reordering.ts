import { info } from '../../../harness/conformance/case.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Numbered datagrams in the burst of case 5.3. */
const BURST = 50;

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

/** 5.3: reordering within a burst. */
export const case5_3: ConformanceCase = {
  id: '5.3',
  title: 'reordering within a burst',
  klass: 'INFO',
  requirement:
    'Whether the replies to a burst of numbered datagrams on one socket come back in order, and how far not.',
  source: 'RFC 768 (UDP does not preserve order)',
  provenBy: ['reverses-bursts'],
  run: async (ctx) => {
    const client = await ctx.wire.open({ bufferBytes: 1 << 20 });
    try {
      const burst = ctx.timing.scale(BURST, 10, false);
      const payloads = Array.from({ length: burst }, (_, i) => ctx.wire.text(String(i).padStart(3, '0')));
      const index = new Map(payloads.map((p, i) => [p.toString('latin1'), i]));
      for (const p of payloads) await ctx.wire.send(client, p);
      const order: number[] = [];
      const seen = new Set<number>();
      let duplicates = 0;
      let foreign = 0;
      // Replies keep arriving while the burst drains; stop at the full count or a quiet timeout, bounded overall.
      const deadline = Date.now() + 2 * ctx.timing.timeoutMs + ctx.timing.backlogMs(burst);
      while (seen.size < burst && Date.now() < deadline) {
        const o = await client.next(Math.min(ctx.timing.timeoutMs, deadline - Date.now()), ctx.wire.signal);
        if (o.kind === 'timeout') break;
        if (o.kind === 'fault') continue;
        const i = index.get(o.arrival.datagram.data.toString('latin1'));
        if (i === undefined) foreign++;
        else if (seen.has(i)) duplicates++;
        else {
          seen.add(i);
          order.push(i);
        }
      }
      const { inversions, maxDisplacement } = reorderingOf(order);
      const evidence = {
        burst: burst,
        received: order.length,
        lost: burst - order.length,
        duplicates,
        foreign,
        inversions,
        maxDisplacement,
        order,
      };
      const notes = [
        ...(burst - order.length > 0 ? [`${burst - order.length} lost`] : []),
        ...(duplicates > 0 ? [`${duplicates} duplicates`] : []),
        ...(foreign > 0 ? [`${foreign} not from this burst`] : []),
      ];
      const tail = notes.length ? `; ${notes.join(', ')}` : '';
      if (inversions === 0) {
        return info(`${order.length} of ${burst} replies came back in order${tail}`, evidence);
      }
      return info(
        `${order.length} of ${burst} replies came back reordered: ${inversions} inverted pairs, displaced by up to ${maxDisplacement} places${tail}`,
        evidence,
      );
    } finally {
      client.release();
    }
  },
};
