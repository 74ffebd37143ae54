/** Finding the largest size a server echoes with a bounded number of exchanges (catalogue case 3.4). */

/** What one probe of one size found. */
export interface SizeProbe {
  readonly size: number;
  /** The reply was byte for byte the request (an unanswered size, after the retries, is not echoed). */
  readonly echoed: boolean;
  /** One phrase: "identical (1024 bytes)", "truncated to 1024 bytes (sent 1025)", "no reply ...". */
  readonly detail: string;
  readonly attempts: number;
}

/** The result of a search: the largest echoed size (undefined when not even 0 bytes came back) and every probe in order. */
export interface LargestEchoed {
  readonly largest: number | undefined;
  /** The smallest size found not echoed, when there is one. */
  readonly firstNotEchoed: SizeProbe | undefined;
  readonly probes: readonly SizeProbe[];
}

/**
 * Binary search for the largest size in 0..max that `probe` reports as echoed: the maximum first
 * (one exchange for a good server), then bisection (ceil(log2(max)) exchanges), and 0 itself only
 * when nothing larger came back. Assumes "echoed" is monotone in size, which is what makes a
 * truncating or size-limited server report one number instead of many failures.
 */
export async function largestEchoed(
  max: number,
  probe: (size: number) => Promise<SizeProbe>,
): Promise<LargestEchoed> {
  const probes: SizeProbe[] = [];
  const run = async (size: number): Promise<SizeProbe> => {
    const p = await probe(size);
    probes.push(p);
    return p;
  };
  const top = await run(max);
  if (top.echoed || max === 0) {
    return { largest: top.echoed ? max : undefined, firstNotEchoed: top.echoed ? undefined : top, probes };
  }
  // Invariant: hi is not echoed; lo is echoed or is 0 (not yet probed).
  let lo = 0;
  let hi = max;
  let failedAt = top;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const p = await run(mid);
    if (p.echoed) lo = mid;
    else {
      hi = mid;
      failedAt = p;
    }
  }
  if (lo > 0) return { largest: lo, firstNotEchoed: failedAt, probes };
  const zero = await run(0);
  return zero.echoed
    ? { largest: 0, firstNotEchoed: failedAt, probes }
    : { largest: undefined, firstNotEchoed: zero, probes };
}
