import { flood, floodEvidence, type FloodResult } from '../../../harness/conformance/flood.js';
import { info } from '../../../harness/conformance/case.js';
import { BIG_BUFFER } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** 7.6's finding in one line: overall ratio, ratio per slice, and where it fell if it did. */
function describeFlood(r: FloodResult): string {
  const pct = (a: number, b: number): string => `${b === 0 ? 0 : Math.round((100 * a) / b)}%`;
  const rate = Math.round(r.sent / Math.max(r.sendMs / 1000, 0.001));
  const head = `answered ${r.replies} of ${r.sent} ${FLOOD.size}-byte datagrams (${pct(r.replies, r.sent)}) sent at ~${rate}/s over ${(r.sendMs / 1000).toFixed(1)} s`;
  const slices = r.timeline.filter((s) => s.sent > 0);
  const perSlice = slices.map((s) => pct(s.replies, s.sent)).join(' ');
  if (r.replies >= r.sent * 0.99) return `${head}: no throttling seen (per ${FLOOD.sliceMs} ms: ${perSlice})`;
  const ratio = (s: { sent: number; replies: number }): number => s.replies / s.sent;
  const start = slices[0] ? ratio(slices[0]) : 0;
  const fell = slices.find((s) => ratio(s) < start / 2);
  if (fell) {
    const before = slices.filter((s) => s.startMs < fell.startMs).reduce((n, s) => n + s.sent, 0);
    return `${head}: the reply ratio fell below half its start after ~${(fell.startMs / 1000).toFixed(1)} s (~${before} datagrams): the server or the path throttles or drops under load (per ${FLOOD.sliceMs} ms: ${perSlice})`;
  }
  return `${head}: a steady share is lost, no onset of throttling (per ${FLOOD.sliceMs} ms: ${perSlice}); losses anywhere on the path count`;
}

/** 7.6: datagrams, burst size, burst interval, cap on sending time, timeline slice. */
const FLOOD = { count: 20_000, burst: 100, intervalMs: 10, maxSendMs: 2000, sliceMs: 200, size: 16 };

/** 7.6: whether and where the server throttles a flood. */
export const case7_6: ConformanceCase = {
  id: '7.6',
  title: 'whether and where the server throttles a flood',
  klass: 'INFO',
  requirement:
    'Reports the reply ratio over time during a bounded, paced flood of small datagrams (losses anywhere on the path count).',
  source: 'CVE-2024-2169 (reflection), RFC 862',
  provenBy: ['throttles-floods'],
  disturbs: 'flood',
  run: async (ctx) => {
    const r = await flood(
      ctx.wire,
      {
        to: { address: ctx.target.address, port: ctx.target.port },
        family: ctx.target.family,
        count: ctx.timing.floodCount(FLOOD.count),
        size: () => FLOOD.size,
        burst: FLOOD.burst,
        intervalMs: FLOOD.intervalMs,
        maxSendMs: FLOOD.maxSendMs,
        quietMs: 300,
        maxDrainMs: 1000,
        sliceMs: FLOOD.sliceMs,
        bufferBytes: BIG_BUFFER,
      },
      ctx.timing,
    );
    return info(describeFlood(r), { ...floodEvidence(r, true), sliceMs: FLOOD.sliceMs });
  },
};
