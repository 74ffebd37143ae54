/**
 * The library judges option values and names its fields (`durationMs`, `sizes[2]`); a command line
 * names flags. This turns a library problem into the command's words, with the user's own text:
 * `durationMs 50: must be an integer in 100..86400000` becomes `--duration 50ms: must be at least 100ms`.
 */
import { HarnessError, showValue, type Problem } from '../errors.js';
import { stringList, type OptionTable, type ParsedArgs } from './args.js';

/** How one command sets one library field. */
export interface FieldFlag {
  /** The flag (`--duration`), or the name of a positional argument (`target`). */
  readonly flag: string;
  /** Shows a value of the field in the units the flag takes (ms -> `100ms`); absent: as it is. */
  readonly unit?: (value: number) => string;
  /** Each occurrence of the flag is one item of the list (`--bind A --bind B`), not a comma list. */
  readonly repeated?: boolean;
  /** The text is shown in single quotes, as the shell needs it (`--threshold 'p99<2'`). */
  readonly quoted?: boolean;
}

/** One command's table from field path (list indexes left out: `sizes` for `sizes[2]`) to its flag. */
export type FieldFlags = Readonly<Record<string, FieldFlag>>;

/** What the user typed, by flag: a single option's last value, a list option's values joined by commas. */
export type FlagText = ReadonlyMap<string, string>;

/** What the user typed for each option of `table`: the last value, a repeatable option's values joined by commas. */
export function flagText(values: ParsedArgs['values'], table: OptionTable): Map<string, string> {
  const text = new Map<string, string>();
  for (const [k, v] of Object.entries(values)) {
    const list = stringList(v);
    if (list.length > 0)
      text.set(`--${k}`, table[k]?.multiple === true ? list.join(',') : (list.pop() ?? ''));
  }
  return text;
}

/** Milliseconds as the duration flags take them: 100ms, 1.5s, 24h. */
export const msText = (ms: number): string =>
  ms >= 3_600_000 && ms % 3_600_000 === 0
    ? `${ms / 3_600_000}h`
    : ms >= 1000 && ms % 100 === 0
      ? `${ms / 1000}s`
      : `${ms}ms`;

/** Microseconds as the latency flags take them: 500us, 2ms, 60s. */
export const usText = (us: number): string =>
  us >= 1e6 && us % 1e5 === 0 ? `${us / 1e6}s` : us >= 1000 && us % 100 === 0 ? `${us / 1000}ms` : `${us}us`;

/** Datagrams per second as the rate flags take them: 500/s, 50k/s, 10M/s. */
export const rateText = (n: number): string =>
  n >= 1e6 && n % 1e5 === 0 ? `${n / 1e6}M/s` : n >= 1000 && n % 100 === 0 ? `${n / 1000}k/s` : `${n}/s`;

/** A percentage: 0.1%. */
export const percentText = (n: number): string => `${n}%`;

const INDEX = /\[(\d+)\]/g;

/** The flag of a field path, or the path itself when the command has no flag for it. */
const flagOf = (path: string, flags: FieldFlags): string => flags[path.replace(INDEX, '')]?.flag ?? path;

/** One problem in the command's words: flag, the user's text (or the default), and the rule. */
export function problemText(p: Problem, flags: FieldFlags, text: FlagText): string {
  const spec = flags[p.path.replace(INDEX, '')];
  const flag = spec?.flag ?? p.path;
  const indexed = p.path !== p.path.replace(INDEX, '');
  const shown = (v: unknown): string => (typeof v === 'number' && spec?.unit ? spec.unit(v) : showValue(v));
  const typed = indexed && spec?.repeated === true ? undefined : text.get(flag);
  const what =
    typed ??
    (p.value === undefined ? '' : `${shown(p.value)}${text.has(flag) || indexed ? '' : ' (default)'}`);
  // A bound broken is said in the flag's units; other rules as the library states them.
  let rule = p.message.replace(/`([^`]+)`/g, (_, path: string) => flagOf(path, flags));
  if (spec?.unit && p.range && typeof p.value === 'number') {
    const [min, max] = p.range;
    if (p.value < min) rule = `must be at least ${spec.unit(min)}`;
    else if (p.value > max) rule = `must be at most ${spec.unit(max)}`;
  }
  // One item of a comma list is named before its rule: `--size 64,8: 8 must be ...`.
  const item = indexed && typed !== undefined && typed !== showValue(p.value) ? `${showValue(p.value)} ` : '';
  const shownWhat = what !== '' && spec?.quoted === true ? `'${what}'` : what;
  return `${flag}${shownWhat === '' ? '' : ` ${shownWhat}`}: ${item}${rule}`;
}

/**
 * A library validation error in the command's words (one line, every problem); any other error as it is.
 * Use as `catch (err) { throw toCommandError(err, FLAGS, text) }`.
 */
export function toCommandError(err: unknown, flags: FieldFlags, text: FlagText): unknown {
  if (!(err instanceof HarnessError) || err.problems === undefined) return err;
  return new HarnessError(
    'ERR_ECHOLOT_USAGE',
    err.problems.map((p) => problemText(p, flags, text)).join('; '),
    {
      cause: err,
      problems: err.problems,
    },
  );
}

/** Runs `fn`, with a validation error it throws put in the command's words. */
export function inCommandTerms<T>(flags: FieldFlags, text: FlagText, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toCommandError(err, flags, text);
  }
}
