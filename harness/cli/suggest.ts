/** "Did you mean": the known word closest to a mistyped one (`--stict` -> `--strict`, `chek` -> `check`). */

/** Edit distance with transpositions (optimal string alignment): `chekc` is one step from `check`. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The candidate the user most likely meant, or undefined when none is close: within one edit for
 * words of up to four characters, two for longer ones, or the only candidate the word begins
 * (`--expect` -> `--expectations`). Ties go to the first candidate.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const bare = (s: string): string => s.replace(/^-+/, '').toLowerCase();
  const typed = bare(word);
  if (typed === '') return undefined;
  const limit = typed.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const distance = editDistance(typed, bare(c));
    if (distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= limit) return best;
  const prefixed = typed.length >= 3 ? candidates.filter((c) => bare(c).startsWith(typed)) : [];
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
