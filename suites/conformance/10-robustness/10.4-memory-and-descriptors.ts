import pLimit from 'p-limit';
import { setTimeout as sleep } from 'node:timers/promises';
import { floodEvidence } from '../../../harness/conformance/flood.js';
import { findUdpOwner, processStats, type ProcessStats } from '../../../harness/probes/process-stats.js';
import { info, unsupported } from '../../../harness/conformance/case.js';
import { request } from '../../../harness/conformance/request.js';
import { SETTLE_MS, BIG_BUFFER, floodAt } from './support.js';
import type { ConformanceCase } from '../../../harness/conformance/case.js';

/** "RSS 51.2 MiB -> 52.0 MiB (+0.8 MiB), fds 21 -> 21 (+0)". */
function statsDelta(a: ProcessStats, b: ProcessStats): string {
  const mib = (k: number): string => `${(k / 1024).toFixed(1)} MiB`;
  const sign = (n: number, s: string): string => `${n >= 0 ? '+' : '-'}${s}`;
  const dr = b.rssKiB - a.rssKiB;
  const df = b.fds - a.fds;
  return `RSS ${mib(a.rssKiB)} -> ${mib(b.rssKiB)} (${sign(dr, mib(Math.abs(dr)))}), fds ${a.fds} -> ${b.fds} (${sign(df, String(Math.abs(df)))})`;
}

/** 10.4: the soak between the two measurements. */
const SOAK = { datagrams: 8000, burst: 400, intervalMs: 25, clients: 200, sizes: [0, 64, 512, 1472, 8192] };

/** 10.4: RSS and descriptor count of a local server before and after a soak. */
export const case10_4: ConformanceCase = {
  id: '10.4',
  title: 'RSS and descriptor count of a local server before and after a soak',
  klass: 'INFO',
  capability:
    'needs Linux /proc and a target owned by a process on this host (--target-pid for one in another network namespace)',
  requirement:
    "Reports the owning process's resident memory and open descriptors before and after a soak of datagrams from one socket and many short-lived clients.",
  source: 'RFC 862 (a long-running service)',
  provenBy: ['leaks-socket-per-client'],
  disturbs: 'flood',
  run: async (ctx) => {
    const caps = ctx.capabilities;
    if (!caps.linux)
      return unsupported(
        `reading another process's RSS and descriptors needs Linux /proc; this is ${caps.os}`,
      );
    const to = { address: ctx.target.address, port: ctx.target.port };
    const owner = findUdpOwner(to, ctx.target.family, ctx.options.targetPid);
    if (owner.kind === 'none')
      return unsupported(`the target is not a process on this host: ${owner.reason}`);
    const self = owner.pid === process.pid;
    // In this process the run's own sockets (open until the run ends, on purpose) are not the server's.
    const ours = (): number => (self ? ctx.wire.openSockets() : 0);
    const heldBefore = ours();
    const measured = processStats(owner.pid);
    if (!measured) return unsupported(`cannot read /proc/${owner.pid}/status and fd`);
    const before = { ...measured, fds: measured.fds - heldBefore };
    const soak = await floodAt(ctx, {
      count: ctx.timing.floodCount(SOAK.datagrams),
      size: (seq) => SOAK.sizes[seq % SOAK.sizes.length] ?? 0,
      burst: SOAK.burst,
      intervalMs: SOAK.intervalMs,
      maxSendMs: 1500,
      quietMs: SETTLE_MS,
      maxDrainMs: 1000,
      bufferBytes: BIG_BUFFER,
    });
    const clientCount = ctx.timing.scale(SOAK.clients, 20, false);
    const limit = pLimit(ctx.timing.concurrency(50));
    const clients = await Promise.all(
      Array.from({ length: clientCount }, () => limit(() => request(ctx, () => ctx.wire.text('client')))),
    );
    const answered = clients.filter((c) => c.reply).length;
    await sleep(SETTLE_MS);
    const heldAfter = ours();
    const read = processStats(owner.pid);
    const after = read ? { ...read, fds: read.fds - heldAfter } : undefined;
    const given = ctx.options.targetPid === undefined ? '' : ' (--target-pid)';
    const who = `pid ${owner.pid}${given}${self ? (ctx.target.embedded ? ' (this harness: the embedded reference server runs in-process)' : ' (this harness process)') : ''}`;
    const evidence = {
      pid: owner.pid,
      socketInode: owner.inode,
      boundTo: owner.bound,
      before,
      after: after ?? 'process gone',
      soak: floodEvidence(soak),
      clients: clientCount,
      clientsAnswered: answered,
      ...(self ? { harnessSocketsNotCounted: { before: heldBefore, after: heldAfter } } : {}),
    };
    const load = `${soak.sent} datagrams from one socket and ${clientCount} short-lived clients`;
    if (!after) return info(`${who} was gone after the soak of ${load}`, evidence);
    return info(`${who}: ${statsDelta(before, after)} after ${load}`, evidence);
  },
};
