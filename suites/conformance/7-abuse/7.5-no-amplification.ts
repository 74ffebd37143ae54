import { flood, floodEvidence } from '../../../harness/conformance/flood.js';
import { met, violated } from '../../../harness/conformance/case.js';
import { BIG_BUFFER } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** Sizes of the 7.5 burst besides the largest datagram this client can send. */
const BURST_SIZES: readonly number[] = [0, 1, 8, 64, 512, 1400, 4096, 16384];

/** 7.5: never more replies or bytes out than requests and bytes in. */
export const case7_5: ConformanceCase = {
  id: '7.5',
  title: 'never more replies or bytes out than requests and bytes in',
  klass: 'MUST',
  requirement:
    'Over the whole run (every exchange of every case, and a dedicated burst of datagrams of varied sizes up to the largest sendable): replies <= requests and reply bytes <= request bytes (no amplification).',
  source: 'RFC 862, CVE-2024-2169',
  provenBy: ['duplicate', 'pad-to-64', 'per-peer-slot', 'resends-large-replies'],
  disturbs: 'flood',
  run: async (ctx) => {
    const largest = ctx.capabilities.maxDatagram[ctx.target.family];
    const sizes = [
      ...BURST_SIZES.filter((s) => largest === 0 || s <= largest),
      ...(largest > 0 ? [largest] : []),
    ];
    const r = await flood(
      ctx.wire,
      {
        to: { address: ctx.target.address, port: ctx.target.port },
        family: ctx.target.family,
        count: sizes.length * 2,
        size: (seq) => sizes[seq % sizes.length] ?? 0,
        burst: sizes.length,
        intervalMs: 20,
        maxSendMs: 1000,
        quietMs: Math.min(ctx.timing.timeoutMs, 300),
        maxDrainMs: ctx.timing.timeoutMs,
        bufferBytes: BIG_BUFFER,
      },
      ctx.timing,
    );
    const evidence = { sizes, ...floodEvidence(r) };
    const ratio = r.bytesSent > 0 ? r.bytesReceived / r.bytesSent : 0;
    const counts = `${r.replies} replies (${r.bytesReceived} bytes) to ${r.sent} requests (${r.bytesSent} bytes)`;
    if (r.replies > r.sent || r.bytesReceived > r.bytesSent) {
      return violated(`amplification: ${counts}, byte ratio ${ratio.toFixed(3)}`, evidence);
    }
    // A second reply to one datagram is a breach the ledger records (and tells from path duplication).
    return met(`no amplification in the burst: ${counts}`, evidence);
  },
  atRunEnd: ({ requests, serverDuplicates }, outcome) => {
    let sent = 0;
    let bytesIn = 0;
    let replies = 0;
    let bytesOut = 0;
    const longer: number[] = [];
    for (const r of requests) {
      sent++;
      bytesIn += r.length;
      if (r.copies === 0) continue;
      // Copies the path made are not the server's: counted only once the server is known to duplicate.
      replies += serverDuplicates ? r.copies : 1;
      bytesOut += serverDuplicates ? r.replyBytes : (r.firstReplyBytes ?? 0);
      if ((r.firstReplyBytes ?? 0) > r.length) longer.push(r.seq);
    }
    const counts = `${replies} replies (${bytesOut} bytes) to ${sent} requests (${bytesIn} bytes) over the whole run`;
    const evidence = {
      ...(outcome.evidence ?? {}),
      run: { requests: sent, bytesIn, replies, bytesOut, longerReplies: longer.length },
    };
    if (outcome.status === 'violated') return { ...outcome, evidence };
    if (replies > sent || bytesOut > bytesIn || longer.length > 0) {
      const why = longer.length > 0 ? `; ${longer.length} replies longer than their request` : '';
      return violated(`amplification: ${counts}${why}`, evidence);
    }
    return met(`no amplification: ${counts}; ${outcome.message}`, evidence);
  },
};
