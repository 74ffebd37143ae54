/**
 * A bounded, paced flood from one client socket, counting what comes back: how many replies,
 * how many bytes, and when (per time slice), so a case can see throttling, loss or amplification.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EchoClient, nowNs } from '../net/echo-client.js';
import type { Family } from '../protocol/constants.js';
import { errnoOf } from '../errors.js';
import type { Endpoint } from './exchange.js';

/** How to flood. Every count and duration is bounded by the caller. */
export interface FloodOptions {
  readonly to: Endpoint;
  readonly family: Family;
  /** Datagrams to send at most. */
  readonly count: number;
  /** Size of datagram `seq` (0-based). Sizes of at least 12 bytes carry a tag and the sequence number. */
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

/** Bytes of tag + sequence number at the start of each tagged datagram. */
const HEADER = 12;

/** Payload of datagram `seq`: an 8-byte run tag, the 4-byte sequence number, then filler. */
function floodPayload(tag: Buffer, seq: number, size: number): Buffer {
  const out = Buffer.alloc(size, 0x5a);
  if (size >= HEADER) {
    tag.copy(out, 0);
    out.writeUInt32BE(seq, 8);
  }
  return out;
}

/** Sends the flood through one EchoClient and counts the replies; never throws for a target fault. */
export async function flood(options: FloodOptions): Promise<FloodResult> {
  const sliceMs = options.sliceMs ?? 200;
  const client = await EchoClient.open({
    family: options.family,
    ...(options.bufferBytes === undefined ? {} : { bufferBytes: options.bufferBytes }),
  });
  const tag = randomBytes(8);
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
      const o = await client.receive(Math.min(50, options.quietMs));
      const now = nowNs();
      if (o.kind === 'datagram') {
        lastReplyNs = now;
        const d = o.datagram.data;
        replies++;
        bytesReceived += d.length;
        largestReply = Math.max(largestReply, d.length);
        const slice = Math.floor(Number(o.datagram.atNs - start) / 1e6 / sliceMs);
        if (d.length >= HEADER && d.subarray(0, 8).equals(tag)) {
          const seq = d.readUInt32BE(8);
          const at = seq < options.count ? sentSlice[seq] : undefined;
          if (at === undefined || at < 0 || answered[seq] === 1) unexpected++;
          else {
            answered[seq] = 1;
            bump(repliesPerSlice, at);
          }
        } else {
          // Untagged (short) datagrams cannot name their request: count them where they arrive.
          bump(repliesPerSlice, slice);
        }
      }
      if (!sendingDone) continue;
      const sinceSend = Number(now - sendDoneNs) / 1e6;
      const sinceReply = Number(now - (lastReplyNs > sendDoneNs ? lastReplyNs : sendDoneNs)) / 1e6;
      if (replies >= sent && sent > 0 && sinceReply >= Math.min(options.quietMs, 20)) return;
      if (sinceReply >= options.quietMs || sinceSend >= options.maxDrainMs) return;
    }
  })();

  try {
    let seq = 0;
    for (let b = 0; seq < options.count; b++) {
      if (elapsedMs() >= options.maxSendMs) break;
      const pending: Promise<void>[] = [];
      const end = Math.min(options.count, seq + options.burst);
      for (; seq < end; seq++) {
        const payload = floodPayload(tag, seq, options.size(seq));
        const slice = Math.floor(elapsedMs() / sliceMs);
        sentSlice[seq] = slice;
        bump(sentPerSlice, slice);
        sent++;
        bytesSent += payload.length;
        pending.push(
          client.send(payload, options.to).catch((err: unknown) => {
            sendErrors++;
            firstSendError ??= errnoOf(err) ?? String(err);
          }),
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
    const local = client.local();
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
    await client.close();
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
