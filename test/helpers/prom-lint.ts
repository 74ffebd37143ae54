/**
 * The rules of Prometheus' metrics lint (`promtool check metrics`) that a scrape of `echolot serve
 * --metrics` can break, on the text exposition format: every family has a HELP and a TYPE, only
 * counters end in `_total` and every counter does, `_bucket`/`_sum`/`_count` only on histograms and
 * summaries, no `:` and no camelCase in names. One problem per line, "NAME: what", in promtool's words.
 */

const SUFFIXES = ['_bucket', '_sum', '_count'] as const;

export function lintExposition(text: string): string[] {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const families = new Set<string>();
  const problems: string[] = [];
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      families.add(name);
      const into = kind === 'HELP' ? help : type;
      if (into.has(name)) problems.push(`${name}: second ${kind ?? ''} line`);
      into.set(name, rest.trim());
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (name === undefined) {
      problems.push(`${line}: not a sample`);
      continue;
    }
    const suffix = SUFFIXES.find((s) => name.endsWith(s));
    const base = suffix === undefined ? undefined : name.slice(0, -suffix.length);
    const kind = base === undefined ? undefined : type.get(base);
    families.add(kind === 'histogram' || kind === 'summary' ? (base ?? name) : name);
  }
  for (const name of [...families].sort()) {
    const t = type.get(name);
    if (!help.get(name)) problems.push(`${name}: no help text`);
    if (t === undefined) problems.push(`${name}: no TYPE`);
    if (t !== 'counter' && name.endsWith('_total')) {
      problems.push(`${name}: non-counter metrics should not have "_total" suffix`);
    }
    if (t === 'counter' && !name.endsWith('_total')) {
      problems.push(`${name}: counter metrics should have "_total" suffix`);
    }
    const suffix = SUFFIXES.find((s) => name.endsWith(s));
    if (suffix !== undefined && t !== 'histogram' && t !== 'summary') {
      problems.push(`${name}: non-histogram and non-summary metrics should not have "${suffix}" suffix`);
    }
    if (name.includes(':')) problems.push(`${name}: metric names should not contain ':'`);
    if (/[a-z][A-Z]/.test(name))
      problems.push(`${name}: metric names should be written in 'snake_case' not 'camelCase'`);
  }
  return problems;
}
