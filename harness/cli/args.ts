import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HarnessError } from '../errors.js';

/** The option table util.parseArgs takes. */
export type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** Parsed values and positionals of one sub-command. */
export interface ParsedArgs {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

/** util.parseArgs with its errors turned into one-line usage HarnessErrors that name the command. */
export function parseCommandArgs(command: string, argv: readonly string[], options: OptionTable): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `echolot ${command}: ${message} (see 'echolot ${command} --help')`,
      {
        cause: err,
      },
    );
  }
}

/** Parses a decimal integer option and checks its range, naming the option and the value on failure. */
export function parseIntegerOption(name: string, raw: string, min: number, max: number): number {
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new HarnessError('ERR_ECHOLOT_USAGE', `${name} ${raw}: must be an integer in ${min}..${max}`);
  }
  return value;
}

/** Returns the string values of a repeatable option (undefined -> []). */
export function stringList(value: ParsedArgs['values'][string]): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}
