/** The LoadResult of a run: the shares merged, and the generator's health judged. */
import { sumCounters } from './counters.js';
import type { ProcSnapshot } from './generator-health.js';
import type { ResolvedLoadOptions } from './options.js';
import type { BusiestThread, EngineTarget, ShareOutcome } from './share.js';
import type { GeneratorHealth, LoadCounters, LoadMode, LoadResult } from './types.js';

/**
 * Utilisation of the generator's busiest thread (its event loop or its data-plane thread, less the pacer's
 * polling) at or above which the generator counts as CPU-bound (rate and flood).
 */
export const SATURATED_ELU = 0.95;

/**
 * Why a busy thread makes the generator the bottleneck: utilisation of `thread` (the busiest worker's,
 * not counting the rate pacer's polling) at or above SATURATED_ELU outside ping-pong; undefined below.
 */
export function saturationReason(
  mode: LoadMode,
  elu: number,
  pollShare: number,
  workers: number,
  thread: BusiestThread = 'event loop',
): string | undefined {
  if (mode === 'ping-pong' || elu < SATURATED_ELU) return undefined;
  return (
    `the generator's ${thread}${workers > 1 ? ' (busiest worker)' : ''} was saturated: utilisation ${Math.round(elu * 100)}%` +
    (mode === 'rate' ? ` not counting the pacer's polling (${Math.round(pollShare * 100)}%)` : '') +
    ' (CPU-bound)'
  );
}

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * Who lost the datagrams (LOAD.md "Who lost the datagram?"). The kernel counts every datagram the
 * generator's sockets dropped, not only the run's replies: a server (or anyone who knows the flows'
 * ports) may fill the buffers with datagrams that are no reply of the run. Only the replies' share
 * of the drops, as the datagrams read show it (replies of the run vs foreign ones), is the
 * generator's loss, and never more than was lost; the rest is the network's or the server's.
 */
export function attributeLoss(counters: LoadCounters, socketDrops: number): LoadResult['lossAttribution'] {
  const lost = counters.lost;
  if (socketDrops === 0 || counters.foreign === 0) {
    const generator = Math.min(lost, socketDrops);
    return { generator, networkOrServer: lost - generator };
  }
  const replies = counters.received;
  const generator = Math.min(lost, Math.floor((socketDrops * replies) / (replies + counters.foreign)));
  const dropped = `the generator's sockets dropped ${count(socketDrops)} datagrams while ${count(counters.foreign)} foreign datagrams arrived`;
  const note =
    generator === 0
      ? `${dropped}: the buffers were filled by traffic that was not the run's replies; loss is not attributed to the generator`
      : `${dropped} beside ${count(replies)} of the run's replies: only the replies' share of the drops, ${count(generator)}, is attributed to the generator`;
  return { generator, networkOrServer: lost - generator, note };
}

/** Merges the shares and judges the generator's health: the LoadResult. */
export function assemble(
  o: ResolvedLoadOptions,
  target: EngineTarget,
  runIdBytes: Uint8Array,
  startedAt: string,
  shares: readonly ShareOutcome[],
  before: ProcSnapshot,
  after: ProcSnapshot,
  ioPath: string,
): LoadResult {
  const [first, ...rest] = shares;
  if (!first) throw new Error('no share to assemble');
  const response = first.response;
  const service = first.service;
  const sendLag = first.sendLag;
  const series = first.series;
  for (const s of rest) {
    response.add(s.response);
    service.add(s.service);
    sendLag.add(s.sendLag);
    series.addWire(s.series.toWire());
  }
  const perFlow = shares.flatMap((s) => s.perFlow);
  const counters = sumCounters(perFlow);
  // A run cut short measured less than its duration: the rates are per second of what was measured.
  const cut = shares.flatMap((s) => (s.measuredMs === undefined ? [] : [s.measuredMs]));
  const measuredMs = cut.length === 0 ? o.durationMs : Math.min(o.durationMs, Math.max(...cut));
  const durS = Math.max(measuredMs, 1) / 1000;
  series.cut(measuredMs);
  const sendLagSummary = sendLag.summary();
  const socketDrops = Math.max(0, after.socketDrops - before.socketDrops);
  const elu = Math.max(...shares.map((s) => s.elu));
  const reasons: string[] = [];
  const attribution = attributeLoss(counters, socketDrops);
  if (attribution.generator > 0) {
    reasons.push(
      attribution.note === undefined
        ? `the generator's own sockets dropped ${socketDrops} datagrams (receive buffer full): that loss is the generator's`
        : `the generator's own sockets dropped ${attribution.generator} of the run's replies (receive buffer full): that loss is the generator's`,
    );
  }
  const lagBoundUs = Math.max(o.maxLagUs, (0.1 * 1e6) / o.rate);
  if (o.mode === 'rate' && sendLagSummary.p99 > lagBoundUs) {
    reasons.push(
      `send lag p99 ${sendLagSummary.p99} us is above the bound ${Math.round(lagBoundUs)} us: the generator did not keep to the schedule`,
    );
  }
  const busiest = shares.find((s) => s.elu === elu)?.busiest;
  const saturated = saturationReason(
    o.mode,
    elu,
    Math.max(...shares.map((s) => s.pollShare)),
    shares.length,
    busiest,
  );
  if (saturated !== undefined) reasons.push(saturated);
  const sendErrors = new Map<string, number>();
  for (const s of shares) for (const [k, v] of s.sendErrors) sendErrors.set(k, (sendErrors.get(k) ?? 0) + v);
  if (sendErrors.size > 0) {
    reasons.push(`send errors: ${[...sendErrors].map(([k, v]) => `${k} x${v}`).join(', ')}`);
  }
  const generator: GeneratorHealth = {
    eventLoopUtilization: Math.round(elu * 1000) / 1000,
    socketDrops,
    rcvbufErrors: Math.max(0, after.rcvbufErrors - before.rcvbufErrors),
    sndbufErrors: Math.max(0, after.sndbufErrors - before.sndbufErrors),
    bottleneck: reasons.length > 0,
    reasons,
  };
  const jitterSum = shares.reduce((a, s) => a + s.jitterSum, 0);
  const jitterN = shares.reduce((a, s) => a + s.jitterN, 0);
  const { target: _t, onInterval: _i, signal: _s, ...plain } = o;
  return {
    runId: Buffer.from(runIdBytes).toString('hex'),
    target: { input: target.input, address: target.address, port: target.port, embedded: target.embedded },
    mode: o.mode,
    options: plain,
    startedAt,
    durationMs: measuredMs,
    counters,
    perFlow,
    rates: {
      offered: o.mode === 'rate' ? o.rate : Math.round((counters.sent / durS) * 10) / 10,
      echoes: Math.round((counters.unique / durS) * 10) / 10,
      sent: Math.round((counters.sent / durS) * 10) / 10,
    },
    response: response.summary(),
    service: service.summary(),
    sendLag: sendLagSummary,
    jitterUs: jitterN === 0 ? 0 : Math.round((jitterSum / jitterN) * 10) / 10,
    intervals: series.all(),
    generator,
    lossAttribution: attribution,
    ioPath,
  };
}
