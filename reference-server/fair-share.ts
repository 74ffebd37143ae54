import ipaddr from 'ipaddr.js';

/**
 * The global rate limit (`--global-rate-limit`), shared fairly between the source networks asking for it.
 *
 * One token bucket holds the budget (rate R per second, burst R). First come first served, a flood spread
 * over many addresses takes nearly every token and leaves a legitimate client the same small fraction of
 * its datagrams as the flood gets. The policy decides per datagram (answer or drop, nothing is queued), so
 * fairness is an admission rule on top of the bucket:
 *
 * - Sources are grouped by network, an IPv4 /24 or an IPv6 /56 (v4-mapped sources count as IPv4): the
 *   addresses of one network have one share between them, so spreading a flood over the addresses of a
 *   few networks buys nothing.
 * - A group is active while it has sent in the last second (ACTIVE_SLICES slices of SLICE_MS), once it has
 *   sent in two different slices: a forged source used once never counts, so a stream of them cannot
 *   shrink the shares of everyone else. With K active groups each earns credit at R / K per second, and
 *   saves up at most CREDIT_MS of it (at least MIN_CREDIT datagrams).
 * - A datagram that spends credit (its group is within its fair share) may take a token from the reserve
 *   (RESERVE_MS of the rate) kept back in the bucket; the more of its credit a group has left, the deeper
 *   it may reach, so the group that has used the least of its share gets the last tokens (a refused group
 *   keeps no more than one datagram of credit, so a flood cannot save up a claim on them). A datagram
 *   without credit (beyond the fair share) is answered only while the bucket holds more than twice the
 *   reserve: heavy groups share what the others leave, first come first served.
 * - A group alone (no other group sent for ALONE_MS) may take every token, like the plain bucket.
 *
 * The shares add up to R, so groups within their share get what they ask and heavy groups get the rest:
 * the budget is used whole (work-conserving), and never exceeded (R per second plus the burst). A flood
 * spread over as many networks as it has addresses cannot be told apart from as many clients; then every
 * group, the client's too, gets at least about 1/K of the rate.
 */

/** IPv4 sources in one /24 share one fair share. */
export const SHARE_PREFIX_V4 = 24;
/** IPv6 sources in one /56 share one fair share (a site's usual delegation). */
export const SHARE_PREFIX_V6 = 56;
/** Length of a slice: a group that sent in two different slices is established (not a one-shot source). */
const SLICE_MS = 100;
/** A group is active while it has sent in the last this many slices (about one second). */
const ACTIVE_SLICES = 10;
/** A group below its share saves up its credit for at most this long (and at least MIN_CREDIT datagrams). */
const CREDIT_MS = 1000;
/** Tokens kept back for groups within their share: this much of the rate (at least 2, at most half the burst). */
const RESERVE_MS = 100;
/** A group is alone (may use every token) when no other group has sent for this long. */
const ALONE_MS = 10_000;
/** The least credit a group may save up, so that how much of it is left says who has used less. */
const MIN_CREDIT = 4;

/** The network a source address belongs to for the fair share, e.g. `192.0.2.0/24`. */
export function shareGroup(address: string): string {
  const bare = address.split('%')[0] ?? address;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(bare);
  } catch {
    return bare;
  }
  const prefix = addr.kind() === 'ipv4' ? SHARE_PREFIX_V4 : SHARE_PREFIX_V6;
  const bytes = addr.toByteArray();
  for (let bit = prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${ipaddr.fromByteArray(bytes).toString()}/${prefix}`;
}

interface Group {
  /** Datagrams this group may still send within its fair share. */
  credit: number;
  /** When the credit was last brought up to date. */
  creditMs: number;
  /** The last slice this group sent in. */
  slice: number;
  /** Has sent in two slices or more, and so counts as active while it keeps sending. */
  established: boolean;
}

/** The fair global limit: `admit` answers or refuses one datagram of the source network `group`. */
export interface FairShare {
  admit(group: string, nowMs: number): boolean;
  /** Groups counted as active: established, and sent within the last ACTIVE_SLICES slices. */
  activeGroups(): number;
}

/** A fair global limit of `rate` datagrams per second, tracking at most `maxGroups` source networks. */
export function createFairShare(rate: number, maxGroups: number): FairShare {
  const perMs = rate / 1000;
  const burst = Math.max(1, rate);
  const reserve = Math.min((burst - 1) / 2, Math.max(2, rate * (RESERVE_MS / 1000)));
  let tokens = burst;
  let lastMs = Number.NEGATIVE_INFINITY;
  let slice = Number.NEGATIVE_INFINITY;
  // Established groups by the slice they last sent in (a ring over the window), and their sum.
  const lastSeen = new Array<number>(ACTIVE_SLICES).fill(0);
  let active = 0;
  const groups = new Map<string, Group>();
  // The group that sent last and when, and the last time any other group sent.
  let lastKey = '';
  let lastKeyMs = Number.NEGATIVE_INFINITY;
  let otherMs = Number.NEGATIVE_INFINITY;
  const ring = (s: number): number => ((s % ACTIVE_SLICES) + ACTIVE_SLICES) % ACTIVE_SLICES;

  const uncount = (g: Group): void => {
    if (!g.established || slice - g.slice >= ACTIVE_SLICES) return;
    lastSeen[ring(g.slice)]!--;
    active--;
  };

  const advance = (nowSlice: number): void => {
    if (nowSlice <= slice) return;
    // The slots of the slices now beginning held groups that have left the window.
    const steps = Number.isFinite(slice) ? Math.min(ACTIVE_SLICES, nowSlice - slice) : ACTIVE_SLICES;
    for (let i = 0; i < steps; i++) {
      const slot = ring(nowSlice - i);
      active -= lastSeen[slot]!;
      lastSeen[slot] = 0;
    }
    slice = nowSlice;
  };

  const find = (key: string, nowMs: number): Group => {
    let g = groups.get(key);
    if (g === undefined) {
      // Credit starts at nothing: a stream of never-seen (forged) sources gets only what is left.
      g = { credit: 0, creditMs: nowMs, slice, established: false };
      if (groups.size >= Math.max(1, maxGroups)) {
        // Insertion order is recency order, by slice: the first key is the least recently active.
        const oldest = groups.entries().next();
        if (oldest.done !== true) {
          uncount(oldest.value[1]);
          groups.delete(oldest.value[0]);
        }
      }
    } else if (g.slice !== slice) {
      uncount(g);
      g.established = true;
      g.slice = slice;
      lastSeen[ring(slice)]!++;
      active++;
      // Moved to the end once per slice, which keeps the order least recently active first.
      groups.delete(key);
    } else {
      return g;
    }
    groups.set(key, g);
    return g;
  };

  return {
    admit(key, nowMs) {
      if (nowMs > lastMs) {
        tokens = Math.min(burst, tokens + (nowMs - lastMs) * perMs);
        lastMs = nowMs;
      }
      advance(Math.floor(nowMs / SLICE_MS));
      const g = find(key, nowMs);
      const sharePerMs = perMs / Math.max(1, active);
      const cap = Math.max(MIN_CREDIT, sharePerMs * CREDIT_MS);
      if (nowMs > g.creditMs) {
        g.credit += (nowMs - g.creditMs) * sharePerMs;
        g.creditMs = nowMs;
      }
      g.credit = Math.min(cap, g.credit);
      // Alone, a group may use every token. Among others, the less of its share a group has used lately, the
      // deeper into the reserve it may reach; beyond its share it gets only what is above the reserve.
      if (key !== lastKey) {
        otherMs = lastKeyMs;
        lastKey = key;
      }
      lastKeyMs = Math.max(lastKeyMs, nowMs);
      let need = 1;
      if (nowMs - otherMs < ALONE_MS) {
        need = g.credit >= 1 ? 1 + reserve * (1 - g.credit / cap) : 1 + 2 * reserve;
      }
      if (tokens < need) {
        // Refused, it asks for more than there is: it keeps no savings that would let it outrank lighter groups.
        g.credit = Math.min(g.credit, 1);
        return false;
      }
      if (g.credit >= 1) g.credit -= 1;
      tokens -= 1;
      return true;
    },
    activeGroups: () => active,
  };
}
