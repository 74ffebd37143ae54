import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HarnessError } from '../errors.js';
import { closest } from './suggest.js';

/** The option table util.parseArgs takes. */
export type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** What a command module exports for `echolot help` and `echolot completion`. */
export interface CommandSpec {
  readonly options: OptionTable;
  readonly help: string;
}

/** Parsed values and positionals of one sub-command. */
export interface ParsedArgs {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

/** A value that is a negative number (`-5`, `-0.5`, `-.5`), not an option. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * `--rate -5` as `--rate=-5` (and `-r -5` likewise): util.parseArgs refuses a value that begins with
 * `-` as ambiguous, but a negative number is a value, which the library then judges by the rule of
 * its option (`--rate -5: must be datagrams per second ...`). Everything after `--` is left as it is.
 */
export function negativeValuesInline(argv: readonly string[], options: OptionTable): string[] {
  const longOf = new Map(
    Object.entries(options).flatMap(([name, o]) => (o.short === undefined ? [] : [[`-${o.short}`, name]])),
  );
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = arg.startsWith('--') ? arg.slice(2) : longOf.get(arg);
    const next = argv[i + 1];
    if (
      name !== undefined &&
      options[name]?.type === 'string' &&
      next !== undefined &&
      NEGATIVE_NUMBER.test(next)
    ) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Every spelling of the options of a table: `--strict`, `-h`. */
export function optionNames(options: OptionTable): string[] {
  return Object.entries(options).flatMap(([name, o]) => [
    `--${name}`,
    ...(o.short === undefined ? [] : [`-${o.short}`]),
  ]);
}

/**
 * util.parseArgs with its errors turned into one-line usage HarnessErrors that name the command and
 * the option: `unknown option --stict for check (did you mean --strict?)`.
 */
export function parseCommandArgs(command: string, argv: readonly string[], options: OptionTable): ParsedArgs {
  const see = `see 'echolot ${command} --help'`;
  try {
    const { values, positionals } = parseArgs({
      args: negativeValuesInline(argv, options),
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
    const code = (err as { code?: unknown }).code;
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    const option = /^Option '(?:-\w, )?(--[^' ]+)/.exec(message)?.[1];
    let text: string;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== undefined) {
      const flag = unknown.split('=')[0] ?? unknown;
      const guess = closest(flag, optionNames(options));
      text = `unknown option ${flag} for ${command} (${guess === undefined ? see : `did you mean ${guess}?`})`;
    } else if (option !== undefined && /argument missing/.test(message)) {
      text = `${option}: needs a value (${see})`;
    } else if (option !== undefined && /ambiguous/.test(message)) {
      text = `${option}: a value that begins with '-' must be written ${option}=VALUE (${see})`;
    } else if (option !== undefined && /does not take an argument/.test(message)) {
      text = `${option}: takes no value (${see})`;
    } else {
      text = `${command}: ${message} (${see})`;
    }
    throw new HarnessError('ERR_ECHOLOT_USAGE', text, { cause: err });
  }
}

/**
 * A decimal integer option's value (sign allowed), or NaN when the text is not one: the library then
 * refuses it with its own rule and range, which the user reads with the text they typed.
 */
export function integerValue(raw: string): number {
  const value = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  return Number.isSafeInteger(value) ? value : NaN;
}

/** Returns the string values of a repeatable option (undefined -> []). */
export function stringList(value: ParsedArgs['values'][string]): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

/**
 * The items of a comma-separated, repeatable option (`--only 1.1,2 --only '3.*'`). Given but naming
 * nothing (`--only ''`, `--only ,`) is a usage error: for a selection, no items would mean all of them.
 */
export function commaList(flag: string, value: ParsedArgs['values'][string], example: string): string[] {
  const given = stringList(value);
  const items = given
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (given.length > 0 && items.length === 0) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `${flag} '${given.join(',')}': must name at least one ${example}`,
    );
  }
  return items;
}
