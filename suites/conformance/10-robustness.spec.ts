import pLimit from 'p-limit';
import { setTimeout as sleep } from 'node:timers/promises';
import { EchoClient } from '../../harness/net/echo-client.js';
import { nonce } from '../../harness/probes/payloads.js';
import { flood, floodEvidence, type FloodOptions, type FloodResult } from '../../harness/probes/flood.js';
import { exchangeEvidence, type ExchangeResult } from '../../harness/probes/exchange.js';
import { comparePayloads } from '../../harness/results/evidence.js';
import { findUdpOwner, processStats, type ProcessStats } from '../../harness/probes/process-stats.js';
import { maxPayload } from '../../harness/protocol/constants.js';
import type { ActiveRun } from '../../harness/runner/active-run.js';
import { errnoOf } from '../../harness/errors.js';
import { conformanceCase, info, met, unsupported, violated, type CaseOutcome } from '../support/case.js';
import { judgeBytes, request } from '../support/request.js';

/** 10.1: clients that vanish before their reply, opened this many at a time. */
const VANISHING = { clients: 1000, concurrency: 100 };

/** Time for the last replies and the ICMP errors they draw to land before the liveness echo. */
const SETTLE_MS = 200;

/** Client socket buffers for floods of large datagrams. */
const BIG_BUFFER = 4 << 20;

/** 10.2: a flood of small datagrams sent as fast as the client hands them over. */
const SMALL_FLOOD = { count: 10_000, size: 32, burst: 500 };

/** 10.3: zero-length and maximum-size floods. */
const EMPTY_FLOOD = { count: 5000, burst: 500 };
const LARGE_FLOOD = { count: 200, burst: 10, intervalMs: 5 };

/** 10.4: the soak between the two measurements. */
const SOAK = { datagrams: 8000, burst: 400, intervalMs: 25, clients: 200, sizes: [0, 64, 512, 1472, 8192] };

const tag = (id: string) => (): Buffer => Buffer.from(`echolot ${id} ${nonce()}`, 'latin1');

const floodAt = (run: ActiveRun, o: Omit<FloodOptions, 'to' | 'family'>): Promise<FloodResult> =>
  flood({ to: { address: run.target.address, port: run.target.port }, family: run.target.family, ...o });

const floodPhrase = (what: string, r: FloodResult): string =>
  `${r.sent} ${what} in ${Math.round(r.sendMs)} ms (${r.replies} replies)`;

/**
 * The liveness echo after `what`, graded against the baseline echo taken before it: no reply is a
 * dead server; damage that the baseline already showed belongs to sections 1-3, not to liveness.
 */
async function echoAfter(
  run: ActiveRun,
  id: string,
  what: string,
  baseline: ExchangeResult,
  evidence: Record<string, unknown>,
): Promise<CaseOutcome> {
  const r = await request(run, tag(id));
  const o = judgeBytes(run, r);
  const all = { ...evidence, baseline: exchangeEvidence(baseline), echo: exchangeEvidence(r) };
  const message = `after ${what}, a single echo: ${o.message}`;
  if (!r.reply || o.status === 'met') return { ...o, message, evidence: all };
  const before = baseline.reply && comparePayloads(baseline.request.payload, baseline.reply.data);
  if (before && !before.equal) {
    return met(
      `${message} (damaged before too: ${before.summary}; sections 1-3 judge the bytes)`,
      all,
      r.attempts,
    );
  }
  return violated(`${message}, though the echo before was intact`, all, r.attempts);
}

describe('10 Robustness and liveness', () => {
  conformanceCase('10.1', async (run) => {
    const to = { address: run.target.address, port: run.target.port };
    const baseline = await request(run, tag('10.1'));
    const limit = pLimit(VANISHING.concurrency);
    let sent = 0;
    const errors = new Map<string, number>();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: VANISHING.clients }, (_, i) =>
        limit(async () => {
          const client = await EchoClient.open({ family: run.target.family });
          try {
            await client.send(Buffer.from(`echolot 10.1 vanishing ${i} ${nonce()}`, 'latin1'), to);
            sent++;
          } catch (err) {
            const code = errnoOf(err) ?? 'unknown';
            errors.set(code, (errors.get(code) ?? 0) + 1);
          } finally {
            // Closed at once: the reply finds no socket and the kernel answers it with ICMP port unreachable.
            await client.close();
          }
        }),
      ),
    );
    const stormMs = Date.now() - started;
    await sleep(SETTLE_MS);
    return echoAfter(run, '10.1', `${sent} clients closed before their replies (${stormMs} ms)`, baseline, {
      vanishingClients: VANISHING.clients,
      sent,
      sendErrors: Object.fromEntries(errors),
      stormMs,
      settleMs: SETTLE_MS,
    });
  });

  conformanceCase('10.2', async (run) => {
    const baseline = await request(run, tag('10.2'));
    const r = await floodAt(run, {
      count: SMALL_FLOOD.count,
      size: () => SMALL_FLOOD.size,
      burst: SMALL_FLOOD.burst,
      intervalMs: 0,
      maxSendMs: 1500,
      quietMs: SETTLE_MS,
      maxDrainMs: 1000,
      bufferBytes: BIG_BUFFER,
    });
    return echoAfter(
      run,
      '10.2',
      `a flood of ${floodPhrase(`${SMALL_FLOOD.size}-byte datagrams`, r)}`,
      baseline,
      {
        flood: floodEvidence(r),
      },
    );
  });

  conformanceCase('10.3', async (run) => {
    const baseline = await request(run, tag('10.3'));
    const empty = await floodAt(run, {
      count: EMPTY_FLOOD.count,
      size: () => 0,
      burst: EMPTY_FLOOD.burst,
      intervalMs: 0,
      maxSendMs: 1500,
      quietMs: SETTLE_MS,
      maxDrainMs: 1000,
      bufferBytes: BIG_BUFFER,
    });
    const first = await echoAfter(
      run,
      '10.3',
      `a flood of ${floodPhrase('zero-length datagrams', empty)}`,
      baseline,
      {
        emptyFlood: floodEvidence(empty),
      },
    );
    if (first.status !== 'met') return first;
    const cap = run.capabilities.maxDatagram[run.target.family];
    const size = cap > 0 ? Math.min(cap, maxPayload(run.target.family)) : maxPayload(run.target.family);
    const large = await floodAt(run, {
      count: LARGE_FLOOD.count,
      size: () => size,
      burst: LARGE_FLOOD.burst,
      intervalMs: LARGE_FLOOD.intervalMs,
      maxSendMs: 1500,
      quietMs: SETTLE_MS,
      maxDrainMs: 1000,
      bufferBytes: BIG_BUFFER,
    });
    const second = await echoAfter(
      run,
      '10.3',
      `a flood of ${floodPhrase(`${size}-byte datagrams`, large)}`,
      baseline,
      {
        emptyFlood: floodEvidence(empty),
        firstEcho: first.evidence?.['echo'],
        largeFlood: floodEvidence(large),
      },
    );
    if (second.status !== 'met') return second;
    const attempts = Math.max(first.attempts ?? 1, second.attempts ?? 1);
    return met(`${first.message}; ${second.message}`, second.evidence, attempts);
  });

  conformanceCase('10.4', async (run) => {
    const caps = run.capabilities;
    if (!caps.linux)
      return unsupported(
        `reading another process's RSS and descriptors needs Linux /proc; this is ${caps.os}`,
      );
    const to = { address: run.target.address, port: run.target.port };
    const owner = findUdpOwner(to, run.target.family);
    if (owner.kind === 'none')
      return unsupported(`the target is not a process on this host: ${owner.reason}`);
    const before = processStats(owner.pid);
    if (!before) return unsupported(`cannot read /proc/${owner.pid}/status and fd`);
    const soak = await floodAt(run, {
      count: SOAK.datagrams,
      size: (seq) => SOAK.sizes[seq % SOAK.sizes.length] ?? 0,
      burst: SOAK.burst,
      intervalMs: SOAK.intervalMs,
      maxSendMs: 1500,
      quietMs: SETTLE_MS,
      maxDrainMs: 1000,
      bufferBytes: BIG_BUFFER,
    });
    const limit = pLimit(50);
    const clients = await Promise.all(
      Array.from({ length: SOAK.clients }, () => limit(() => request(run, tag('10.4')))),
    );
    const answered = clients.filter((c) => c.reply).length;
    await sleep(SETTLE_MS);
    const after = processStats(owner.pid);
    const self = owner.pid === process.pid;
    const who = `pid ${owner.pid}${self ? (run.embedded ? ' (this harness: the embedded reference server runs in-process)' : ' (this harness process)') : ''}`;
    const evidence = {
      pid: owner.pid,
      socketInode: owner.inode,
      boundTo: owner.bound,
      before,
      after: after ?? 'process gone',
      soak: floodEvidence(soak),
      clients: SOAK.clients,
      clientsAnswered: answered,
    };
    const load = `${soak.sent} datagrams from one socket and ${SOAK.clients} short-lived clients`;
    if (!after) return info(`${who} was gone after the soak of ${load}`, evidence);
    return info(`${who}: ${statsDelta(before, after)} after ${load}`, evidence);
  });
});

/** "RSS 51.2 MiB -> 52.0 MiB (+0.8 MiB), fds 21 -> 21 (+0)". */
function statsDelta(a: ProcessStats, b: ProcessStats): string {
  const mib = (k: number): string => `${(k / 1024).toFixed(1)} MiB`;
  const sign = (n: number, s: string): string => `${n >= 0 ? '+' : '-'}${s}`;
  const dr = b.rssKiB - a.rssKiB;
  const df = b.fds - a.fds;
  return `RSS ${mib(a.rssKiB)} -> ${mib(b.rssKiB)} (${sign(dr, mib(Math.abs(dr)))}), fds ${a.fds} -> ${b.fds} (${sign(df, String(Math.abs(df)))})`;
}
