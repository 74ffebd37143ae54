/**
 * Target health: whether the target still answers, and when it stopped, which request of which
 * case was the last thing it got. Checked after every case that expects silence or floods the
 * target, after a case whose requests went unanswered, and between sections; a target that stopped
 * answering is named at the case that killed it and the rest of the run is not run.
 */
import { formatEndpoint, normalizeAddress, type Endpoint } from '../core/address.js';
import { nowNs } from '../net/echo-client.js';
import type { Family } from '../protocol/constants.js';
import type { Arrival, Ledger, WireRequest } from './ledger.js';

/** What a liveness check found. */
export type Liveness =
  | { readonly alive: true; readonly rttMs: number }
  | {
      readonly alive: false;
      /** One phrase: ICMP port unreachable, or no reply to N echoes. */
      readonly why: string;
    };

/** A target that stopped answering: since when, after what, and how that was found. */
export interface TargetDown {
  /** The case whose request was the first the target did not answer after its last reply. */
  readonly caseId: string;
  /** That request in words, e.g. "the 65507-byte datagram from port 41234". */
  readonly request: string;
  /** The diagnosis in one line, for every report. */
  readonly diagnosis: string;
}

/** The ledger's name for the harness's own liveness echoes: no case's. */
export const HEALTH_CASE = 'health';

/** How often the probe looks whether the ledger saw anything from the target, ms. */
const LOOSE_POLL_MS = 50;

/** Liveness echoes per check. */
const LIVENESS = { attempts: 3 } as const;

/** Watches the target through the ledger and checks it with liveness echoes of its own. */
export class Health {
  private lastReplyNs = 0n;
  private down: TargetDown | undefined;
  /** The liveness check in progress: concurrent callers share it. */
  private checking: Promise<Liveness> | undefined;

  constructor(
    private readonly ledger: Ledger,
    private readonly target: Endpoint & { readonly family: Family },
  ) {
    ledger.onArrival((a: Arrival) => {
      // Any datagram from the target shows it is there, whoever it was meant for.
      if (a.kind !== 'foreign') this.lastReplyNs = a.datagram.atNs;
    });
  }

  /** The target's state: down (and why), or undefined while it answers. */
  status(): TargetDown | undefined {
    return this.down;
  }

  /**
   * Sends three small datagrams from a connected socket (so ICMP port unreachable shows at once), a
   * third of `timeoutMs` apart, and waits `timeoutMs` after the last; three refusals end it at once. Spread out, they do not all land
   * in the same instant as a case's own traffic (a server that is deaf for a moment after some datagram
   * is not dead). Its requests are the run's (the ledger sees their late replies), attributed to no case.
   */
  async probe(timeoutMs: number): Promise<Liveness> {
    const socket = await this.ledger.open(HEALTH_CASE, {
      family: this.target.family,
      connect: { address: this.target.address, port: this.target.port },
    });
    // And an unconnected one: a connected socket filters out replies from another port, which a
    // broken server may send; the ledger sees whatever reaches it (any datagram from the target counts).
    const loose = await this.ledger.open(HEALTH_CASE, { family: this.target.family });
    loose.release();
    try {
      const gapMs = Math.max(1, Math.floor(timeoutMs / LIVENESS.attempts));
      const first = nowNs();
      let sent = 0;
      let faults = 0;
      let refusal: string | undefined;
      let nextSendAt = Date.now();
      const deadline = nextSendAt + (LIVENESS.attempts - 1) * gapMs + timeoutMs;
      for (;;) {
        if (sent < LIVENESS.attempts && Date.now() >= nextSendAt) {
          await this.ledger.send(socket, this.ledger.text('liveness'), this.target, { connected: true });
          await this.ledger.send(loose, this.ledger.text('liveness'), this.target);
          sent++;
          nextSendAt += gapMs;
        }
        const until = sent < LIVENESS.attempts ? Math.min(nextSendAt, deadline) : deadline;
        const e = await socket.next(Math.min(until - Date.now(), LOOSE_POLL_MS));
        if (this.lastReplyNs > first) return { alive: true, rttMs: Number(this.lastReplyNs - first) / 1e6 };
        if (e.kind === 'timeout') {
          if (Date.now() >= deadline) break;
          continue;
        }
        if (e.kind === 'fault') {
          // A refusal may be a server re-opening its socket: it is final once every echo was refused.
          faults++;
          refusal =
            e.fault.errno === 'ECONNREFUSED'
              ? 'ICMP port unreachable: nothing listens any more'
              : e.fault.errno;
          if (faults >= LIVENESS.attempts) return { alive: false, why: refusal };
          continue;
        }
        // Any datagram from the target counts: it is alive, whatever it answers.
        return { alive: true, rttMs: Number(e.arrival.datagram.atNs - first) / 1e6 };
      }
      return {
        alive: false,
        why:
          refusal ??
          `no reply to ${LIVENESS.attempts} echoes ${gapMs} ms apart, waited ${timeoutMs} ms after the last`,
      };
    } finally {
      socket.release();
    }
  }

  /**
   * Checks the target; when it does not answer, finds the request after which it stopped and records
   * the target as down. Returns the state (undefined: it answers). `silentCase`: the case whose last
   * datagrams expected no reply (one from source port 0, say, sent outside the ledger): the target is
   * asked even when it replied recently, and is named as the killer when no ledger request is.
   */
  async check(timeoutMs: number, silentCase?: string): Promise<TargetDown | undefined> {
    const ask = silentCase !== undefined;
    if (this.down) return this.down;
    // A target whose replies still arrive (a backlog draining, say) is alive without asking.
    if (!ask && this.repliedWithin(timeoutMs)) return undefined;
    this.checking ??= this.probe(timeoutMs).finally(() => {
      this.checking = undefined;
    });
    const live = await this.checking;
    if (live.alive || (!ask && this.repliedWithin(timeoutMs))) return undefined;
    if (this.down) return this.down;
    const killer = this.firstUnanswered();
    const when =
      this.lastReplyNs === 0n
        ? 'it never answered in this run'
        : `its last reply came ${(Number(nowNs() - this.lastReplyNs) / 1e9).toFixed(1)} s ago`;
    const after = killer
      ? ` after ${describe(killer)} of case ${killer.caseId}`
      : silentCase !== undefined
        ? ` after the datagrams of case ${silentCase} that expect no reply`
        : '';
    this.down = {
      caseId: killer?.caseId ?? silentCase ?? '',
      request: killer
        ? describe(killer)
        : silentCase !== undefined
          ? `case ${silentCase}'s silent datagrams`
          : 'none sent',
      diagnosis: `the target stopped answering${after}: ${live.why} (${when})`,
    };
    return this.down;
  }

  /** Records the target as down before any case ran (it never answered the preflight). */
  declareDown(down: TargetDown): void {
    this.down ??= down;
  }

  /** Time since the target's last reply, ms (Infinity before the first). */
  quietForMs(): number {
    return this.lastReplyNs === 0n ? Infinity : Number(nowNs() - this.lastReplyNs) / 1e6;
  }

  /** True when a reply from the target arrived in the last `ms`. */
  private repliedWithin(ms: number): boolean {
    return this.lastReplyNs > 0n && Number(nowNs() - this.lastReplyNs) / 1e6 <= ms;
  }

  /** The first request of a case sent after the last request the target answered. */
  private firstUnanswered(): WireRequest | undefined {
    const sent = this.ledger.requests();
    let last = -1;
    for (let i = sent.length - 1; i >= 0; i--) {
      if ((sent[i]?.copies ?? 0) > 0) {
        last = i;
        break;
      }
    }
    return sent.slice(last + 1).find((r) => r.caseId !== HEALTH_CASE);
  }
}

/** A request in words: its size, where it went and the source port it came from. */
function describe(r: WireRequest): string {
  const to = formatEndpoint(normalizeAddress(r.to.address), r.to.port);
  return `the ${r.length}-byte datagram from port ${r.socket.local.port} to ${to}`;
}
