/**
 * A bounded, paced flood from one client socket, counting what comes back: how many replies,
 * how many bytes, and when (per time slice), so a case can see throttling, loss or amplification.
 * Floods go only to a target this run owns (`floodRefusal`): a case that floods declares
 * `disturbs: 'flood'`, and the run (harness/check/catalogue-run.ts) grades it UNSUPPORTED
 * without running it against any other target.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowNs } from '../net/echo-client.js';
import type { Family } from '../protocol/constants.js';
import { errnoOf } from '../errors.js';
import type { Endpoint } from '../core/address.js';
import type { CaseTiming } from './context.js';
import type { CaseWire } from './exchange.js';
import type { WireRequest } from './ledger.js';
import { patternPayload } from '../protocol/payloads.js';
import type { Target } from '../target/acquire.js';
import { ownsTarget } from '../target/ownership.js';
import type { ResolvedCheckOptions } from './options.js';

/**
 * Why the cases that flood (`disturbs: 'flood'`) may not run against `target`, or undefined when
 * they may: the target is the embedded server, a loopback address (127/8, ::1), or the user owns
 * it (`ownTarget`, `--i-own-the-target`). Decides without sending anything.
 */
export function floodRefusal(
  target: Pick<Target, 'address' | 'embedded'>,
  options: Pick<ResolvedCheckOptions, 'ownTarget'>,
): string | undefined {
  if (ownsTarget(target, options.ownTarget)) return undefined;
  return `floods a target this run does not own (${target.address} is not a loopback address): give --i-own-the-target to run it`;
}

/** How to flood. Every count and duration is bounded by the caller. */
export interface FloodOptions {
  readonly to: Endpoint;
  readonly family: Family;
  /** Datagrams to send at most. */
  readonly count: number;
  /** Size of datagram `seq` (0-based). Sizes that fit it start with the run's nonce. */
  readonly size: (seq: number) => number;
  /** Datagrams per burst. */
  readonly burst: number;
  /** Time from one burst's start to the next; 0 sends the next burst as soon as the last was handed over. */
  readonly intervalMs: number;
  /** Stop sending after this long even when `count` is not reached. */
  readonly maxSendMs: number;
  /** After the last send, keep listening until this long passes without a reply. */
  readonly quietMs: number;
  /** Hard cap on listening after the last send. */
  readonly maxDrainMs: number;
  /** Width of one timeline slice. @defaultValue 200 */
  readonly sliceMs?: number;
  /** SO_RCVBUF/SO_SNDBUF of the client, so the client itself drops as little as possible. */
  readonly bufferBytes?: number;
}

/** Sent and answered datagrams of one time slice (replies counted against the slice their request was sent in). */
export interface FloodSlice {
  readonly startMs: number;
  readonly sent: number;
  readonly replies: number;
}

/** What a flood produced. */
export interface FloodResult {
  readonly sent: number;
  readonly bytesSent: number;
  readonly sendErrors: number;
  readonly firstSendError?: string;
  readonly replies: number;
  readonly bytesReceived: number;
  /** Replies carrying our tag and a sequence number that was never sent, or a second reply to one sequence number. */
  readonly unexpected: number;
  /** Longest reply seen, bytes. */
  readonly largestReply: number;
  readonly sendMs: number;
  readonly totalMs: number;
  readonly timeline: readonly FloodSlice[];
  readonly local: Endpoint;
}

/**
 * Sends the flood from one ledger socket and counts the replies; never throws for a target fault.
 * Every datagram is a request of the run (a reply is optional, a second one a breach).
 */
export async function flood(
  wire: CaseWire,
  options: FloodOptions,
  /** The target's pace: a slow target's replies trickle in, and the drain waits for them. */
  timing?: Pick<CaseTiming, 'windowMs' | 'backlogMs' | 'timeoutMs'>,
): Promise<FloodResult> {
  const sliceMs = options.sliceMs ?? 200;
  const quietMs = timing ? timing.windowMs(options.quietMs) : options.quietMs;
  const client = await wire.open({
    family: options.family,
    ...(options.bufferBytes === undefined ? {} : { bufferBytes: options.bufferBytes }),
  });
  // Each datagram is a request of the run: the ledger names the one a reply answers.
  const seqOf = new Map<WireRequest, number>();
  const sentSlice = new Int32Array(options.count).fill(-1);
  const answered = new Uint8Array(options.count);
  const sentPerSlice: number[] = [];
  const repliesPerSlice: number[] = [];
  const bump = (list: number[], i: number): void => {
    while (list.length <= i) list.push(0);
    list[i] = (list[i] ?? 0) + 1;
  };
  let sent = 0;
  let bytesSent = 0;
  let sendErrors = 0;
  let firstSendError: string | undefined;
  let replies = 0;
  let bytesReceived = 0;
  let unexpected = 0;
  let largestReply = 0;
  let sendingDone = false;
  let sendDoneNs = 0n;
  const start = nowNs();
  const elapsedMs = (): number => Number(nowNs() - start) / 1e6;

  const receiver = (async (): Promise<void> => {
    let lastReplyNs = nowNs();
    for (;;) {
      const o = await client.next(Math.min(50, quietMs), wire.signal);
      const now = nowNs();
      if (wire.signal.aborted) return;
      if (o.kind === 'arrival' && o.arrival.kind !== 'foreign' && o.arrival.kind !== 'stale') {
        lastReplyNs = now;
        const d = o.arrival.datagram.data;
        replies++;
        bytesReceived += d.length;
        largestReply = Math.max(largestReply, d.length);
        const seq = o.arrival.request ? seqOf.get(o.arrival.request) : undefined;
        const at = seq === undefined ? undefined : sentSlice[seq];
        if (seq === undefined || at === undefined || at < 0) {
          // A datagram that answers no request of this flood (a copy, a stray): not a reply.
          replies--;
          bytesReceived -= d.length;
          unexpected++;
        } else if (answered[seq] === 1) {
          unexpected++;
        } else {
          answered[seq] = 1;
          bump(repliesPerSlice, at);
        }
      }
      if (!sendingDone) continue;
      const sinceSend = Number(now - sendDoneNs) / 1e6;
      const sinceReply = Number(now - (lastReplyNs > sendDoneNs ? lastReplyNs : sendDoneNs)) / 1e6;
      if (replies >= sent && sent > 0 && sinceReply >= Math.min(quietMs, 20)) return;
      // A slow target works through its backlog: the drain may take that long, and ends once replies stop.
      const maxDrainMs = Math.max(
        options.maxDrainMs,
        timing ? timing.backlogMs(sent - replies) + timing.timeoutMs : 0,
      );
      if (sinceReply >= quietMs || sinceSend >= maxDrainMs) return;
    }
  })();

  try {
    let seq = 0;
    for (let b = 0; seq < options.count; b++) {
      if (elapsedMs() >= options.maxSendMs || wire.signal.aborted) break;
      const pending: Promise<void>[] = [];
      const end = Math.min(options.count, seq + options.burst);
      for (; seq < end; seq++) {
        const payload = patternPayload(options.size(seq), wire.nonce());
        const current = seq;
        const slice = Math.floor(elapsedMs() / sliceMs);
        sentSlice[seq] = slice;
        bump(sentPerSlice, slice);
        sent++;
        bytesSent += payload.length;
        pending.push(
          wire
            .send(client, payload, { to: options.to, expect: 'any', onRecord: (r) => seqOf.set(r, current) })
            .then(
              () => undefined,
              (err: unknown) => {
                sendErrors++;
                firstSendError ??= errnoOf(err) ?? String(err);
              },
            ),
        );
      }
      await Promise.all(pending);
      const next = (b + 1) * options.intervalMs - elapsedMs();
      // Yield even with no pacing, so replies are read while we send.
      await sleep(Math.max(0, Math.min(next, options.maxSendMs - elapsedMs())));
    }
  } finally {
    sendingDone = true;
    sendDoneNs = nowNs();
  }
  const sendMs = Number(sendDoneNs - start) / 1e6;
  try {
    await receiver;
    const local = client.local;
    const slices = Math.max(sentPerSlice.length, repliesPerSlice.length);
    const timeline = Array.from({ length: slices }, (_, i) => ({
      startMs: i * sliceMs,
      sent: sentPerSlice[i] ?? 0,
      replies: repliesPerSlice[i] ?? 0,
    }));
    return {
      sent,
      bytesSent,
      sendErrors,
      ...(firstSendError === undefined ? {} : { firstSendError }),
      replies,
      bytesReceived,
      unexpected,
      largestReply,
      sendMs,
      totalMs: elapsedMs(),
      timeline,
      local,
    };
  } finally {
    client.release();
  }
}

/** A short summary of a flood for evidence (the timeline only when asked). */
export function floodEvidence(r: FloodResult, withTimeline = false): Record<string, unknown> {
  return {
    sent: r.sent,
    bytesSent: r.bytesSent,
    sendErrors: r.sendErrors,
    ...(r.firstSendError ? { firstSendError: r.firstSendError } : {}),
    replies: r.replies,
    bytesReceived: r.bytesReceived,
    unexpectedReplies: r.unexpected,
    largestReply: r.largestReply,
    sendMs: Math.round(r.sendMs),
    totalMs: Math.round(r.totalMs),
    ...(withTimeline ? { timeline: r.timeline } : {}),
  };
}
