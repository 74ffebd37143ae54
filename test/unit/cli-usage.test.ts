import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { commaList, parseCommandArgs, type OptionTable } from '../../harness/cli/args.js';
import { CHECK_COMMAND } from '../../harness/cli/check-command.js';
import {
  COMPLETION_COMMAND,
  completionCommands,
  optionDescription,
  zshScript,
} from '../../harness/cli/completion-command.js';
import { LOAD_COMMAND, parseLoadArgs } from '../../harness/cli/load-command.js';
import { MATRIX_COMMAND } from '../../harness/cli/matrix-command.js';
import { MERGE_COMMAND } from '../../harness/cli/merge-command.js';
import { SERVE_COMMAND } from '../../harness/cli/serve-command.js';
import { closest } from '../../harness/cli/suggest.js';
import { HarnessError } from '../../harness/errors.js';
import { parseTarget } from '../../harness/target/target.js';

const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

/** The help and option table of each command. */
const COMMANDS: Record<string, { help: string; options: OptionTable }> = {
  check: CHECK_COMMAND,
  load: LOAD_COMMAND,
  merge: MERGE_COMMAND,
  matrix: MATRIX_COMMAND,
  serve: SERVE_COMMAND,
  completion: COMPLETION_COMMAND,
};

/** The usage error `fn` throws (fails when it throws none, or another error). */
function usageError(fn: () => unknown): HarnessError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(HarnessError);
    expect((err as HarnessError).exitCode).to.equal(64);
    return err as HarnessError;
  }
  expect.fail('expected a usage error');
}

/**
 * The words of a command line as a POSIX shell reads them, up to a comment, a redirection or two
 * spaces (where a help example's explanation begins); `unquoted` is true for a word that has a glob
 * or bracket character outside quotes (zsh would expand it, or stop with "no matches found").
 */
function shellWords(line: string): { word: string; unquoted: boolean }[] {
  const out: { word: string; unquoted: boolean }[] = [];
  let word = '';
  let started = false;
  let globby = false;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === ' ' || c === '\t') {
      if (started) out.push({ word, unquoted: globby });
      word = '';
      started = false;
      globby = false;
      if (line[i + 1] === ' ' || line[i + 1] === '#' || line[i + 1] === '>' || line[i + 1] === '|') break;
    } else {
      if ('*?[]'.includes(c)) globby = true;
      word += c;
      started = true;
    }
  }
  if (started) out.push({ word, unquoted: globby });
  return out;
}

/** The help page's example command lines, as words after `echolot`. */
function examples(help: string): { word: string; unquoted: boolean }[][] {
  const section = help.slice(help.indexOf('\nExamples:\n'));
  const lines = section.split('\n\n')[0]?.split('\n').slice(1) ?? [];
  return lines.filter((l) => /^\s+echolot /.test(l)).map((l) => shellWords(l.trim()).slice(1));
}

/** The exit codes a help page's "Exit codes:" paragraph names. */
function exitCodes(help: string): number[] {
  const at = help.indexOf('Exit codes:');
  const paragraph = help.slice(at, help.indexOf('\n\n', at) === -1 ? undefined : help.indexOf('\n\n', at));
  const known = new Set([0, 1, 2, 64, 65, 69, 70, 74, 77]);
  return [...new Set([...paragraph.matchAll(/\b(\d+)\b/g)].map((m) => Number(m[1])))]
    .filter((n) => known.has(n))
    .sort((a, b) => a - b);
}

describe('the command line: help, mistakes and completion', () => {
  it('shows Examples in every help page, each accepted by its command', () => {
    for (const [name, { help, options }] of Object.entries(COMMANDS)) {
      expect(help, name).to.match(/\nExamples:\n/);
      const lines = examples(help);
      if (name !== 'completion') expect(lines.length, `${name} examples`).to.be.greaterThan(1);
      for (const line of lines) {
        const words = line.map((w) => w.word);
        expect(words[0], words.join(' ')).to.equal(name);
        expect(
          line.filter((w) => w.unquoted),
          words.join(' '),
        ).to.deep.equal([]);
        if (name === 'load') parseLoadArgs(words.slice(1));
        else parseCommandArgs(name, words.slice(1), options);
      }
    }
  });

  it('lists every exit code a command can return in its help', () => {
    // check and matrix write reports (74), serve binds ports (77) and writes stdout (74).
    const expected: Record<string, number[]> = {
      check: [0, 1, 2, 64, 69, 70, 74],
      load: [0, 1, 64, 69, 70, 74],
      merge: [0, 1, 64, 65, 70, 74],
      matrix: [0, 64, 69, 70, 74],
      serve: [0, 64, 69, 70, 74, 77],
      completion: [0, 64],
    };
    for (const [name, { help }] of Object.entries(COMMANDS)) {
      expect(exitCodes(help), name).to.include.members(expected[name] ?? []);
    }
  });

  it('suggests the option or command meant, in one line', () => {
    const err = usageError(() => parseCommandArgs('check', ['--stict'], CHECK_COMMAND.options));
    expect(err.message).to.equal('unknown option --stict for check (did you mean --strict?)');
    expect(closest('chek', ['check', 'load', 'matrix', 'serve'])).to.equal('check');
    expect(closest('--expect', ['--expectations', '--exclude'])).to.equal('--expectations');
    expect(closest('--frobnicate', ['--strict', '--seed'])).to.equal(undefined);
  });

  it('takes a negative number as a value and judges it by the rule of its option', () => {
    expect(parseCommandArgs('check', ['--retries', '-1'], CHECK_COMMAND.options).values['retries']).to.equal(
      '-1',
    );
    expect(usageError(() => parseLoadArgs(['--rate', '-5'])).message).to.match(/^--rate -5: must be /);
    expect(usageError(() => parseLoadArgs(['-c', '-2'])).message).to.match(/^--flows -2: must be /);
  });

  it('refuses --only and --exclude that name nothing instead of selecting everything', () => {
    for (const given of [[''], [','], ['', ' ']]) {
      expect(usageError(() => commaList('--only', given, 'case')).message).to.match(
        /^--only '.*': must name/,
      );
    }
    expect(commaList('--only', ['1.1,', '3.*'], 'case')).to.deep.equal(['1.1', '3.*']);
    expect(commaList('--only', undefined, 'case')).to.deep.equal([]);
  });

  it('suggests only valid targets for an IPv6 address without brackets', () => {
    for (const input of ['2001:db8::10', '::1:7', 'fe80::1%eth0']) {
      const message = usageError(() => parseTarget(input)).message;
      const suggested = [...message.matchAll(/\[[^\]]+\]:\d+/g)].map((m) => m[0]);
      expect(suggested.length, message).to.be.greaterThan(0);
      for (const target of suggested) expect(() => parseTarget(target), message).to.not.throw();
    }
    expect(usageError(() => parseTarget('2001:db8::10')).message).to.include('[2001:db8::10]:7');
  });

  it('has short flags -d, -r and -c for load, in its help', () => {
    const { plan } = parseLoadArgs(['-d', '5s', '-r', '2k', '-c', '2']);
    expect(plan).to.include({ durationMs: 5000, rate: 2000, flows: 2 });
    for (const flag of ['-d, --duration', '-r, --rate', '-c, --flows'])
      expect(LOAD_COMMAND.help).to.include(flag);
  });

  it('has every option of every command in the zsh script', async () => {
    const commands = await completionCommands();
    expect(commands.map((c) => c.name)).to.deep.equal([
      'check',
      'load',
      'merge',
      'matrix',
      'serve',
      'completion',
    ]);
    const script = zshScript(commands);
    for (const c of commands) {
      const branch = script.slice(script.indexOf(`    ${c.name})\n`));
      for (const [name, o] of Object.entries(c.options)) {
        const spec =
          o.short === undefined
            ? `'${o.multiple === true ? '*' : ''}--${name}[`
            : `{-${o.short},--${name}}'[`;
        expect(branch.slice(0, branch.indexOf(';;')), `${c.name} --${name}`).to.include(spec);
      }
    }
  });

  it("describes each zsh option by its help line, without the help's metavariable or a cut parenthesis", () => {
    expect(optionDescription(SERVE_COMMAND.help, 'bind')).to.equal(
      'address to serve: a literal IPv4/IPv6 address',
    );
    expect(optionDescription(CHECK_COMMAND.help, 'target-addrs')).to.match(
      /^further addresses of the same server/,
    );
    expect(optionDescription(LOAD_COMMAND.help, 'duration')).to.match(/^measured time, /);
    expect(optionDescription(CHECK_COMMAND.help, 'fail-on-unexpected-pass')).to.match(
      /^exit 2 when a case passes/,
    );
  });

  it('quotes globs and brackets in the command examples of README.md and docs/', () => {
    const files = [
      'README.md',
      ...readdirSync(new URL('../../../docs/', import.meta.url))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const unquoted: string[] = [];
    for (const file of files) {
      const blocks = [...read(file).matchAll(/```(?:sh|bash|shell|console|zsh)?\n([\s\S]*?)```/g)];
      const spans = [...read(file).matchAll(/`([^`\n]*echolot [^`\n]*)`/g)];
      const lines = [...blocks.flatMap((b) => (b[1] ?? '').split('\n')), ...spans.map((s) => s[1] ?? '')];
      for (const line of lines.filter((l) => /\becholot (check|load|matrix|serve)(\s|$)/.test(l))) {
        const command = line.slice(line.indexOf('echolot'));
        // The first words of a help page's usage line ([HOST:PORT], [options]) are syntax, not input.
        if (/echolot \w+ \[[A-Z]/.test(command)) continue;
        if (shellWords(command).some((w) => w.unquoted)) unquoted.push(`${file}: ${line.trim()}`);
      }
    }
    expect(unquoted).to.deep.equal([]);
  });
});
