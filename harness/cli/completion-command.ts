/**
 * `echolot completion bash|zsh`: a completion script built from the option table of every command
 * (the tables util.parseArgs parses with), so that it offers exactly the options echolot takes.
 */
import { HarnessError } from '../errors.js';
import { LOAD_MODES } from '../load/options.js';
import { parseCommandArgs, type OptionTable, type CommandSpec } from './args.js';
import { COMMANDS, TOP_OPTIONS } from './commands.js';
import { closest } from './suggest.js';

export const HELP = `Usage: echolot completion bash|zsh

Prints a completion script for bash or zsh: the commands, every option of each command (built
from the option tables echolot parses with), and files, directories or choices for the options
that take them (--report-dir, --config, --mode, --log-level, ...).

Options:
  -h, --help           this help

Examples:
  source <(echolot completion bash)              bash, this shell (or add the line to ~/.bashrc)
  echolot completion bash > ~/.local/share/bash-completion/completions/echolot
  source <(echolot completion zsh)               zsh, after compinit (or add the line to ~/.zshrc)
  echolot completion zsh > "\${fpath[1]}/_echolot"  zsh, from a directory of $fpath

Exit codes: 0 the script was printed, 64 usage error (no shell, or one other than bash or zsh).
`;

/** The options of `echolot completion`. */
export const OPTIONS: OptionTable = { help: { type: 'boolean', short: 'h' } };

/** completion's options and help, for `echolot help` and for its own script. */
export const COMPLETION_COMMAND: CommandSpec = { options: OPTIONS, help: HELP };

/** The shells a script is built for. */
export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** What an option's value completes to: files, directories, user names, or fixed words. */
export type ValueHint = 'file' | 'dir' | 'user' | readonly string[];

/** Values that can be completed, by command and option (an option not listed takes free text). */
const VALUE_HINTS: Readonly<Record<string, Readonly<Record<string, ValueHint>>>> = {
  check: { 'report-dir': 'dir', expectations: 'file', 'update-expectations': 'file' },
  load: {
    'report-dir': 'dir',
    mode: [...LOAD_MODES, 'search'],
    arrival: ['constant', 'poisson'],
    out: 'file',
  },
  merge: { 'report-dir': 'dir' },
  matrix: { config: 'file', doc: 'file', 'report-dir': 'dir' },
  serve: {
    bind: ['all'],
    'loop-guard': ['on', 'off'],
    'log-format': ['text', 'json'],
    'log-level': ['debug', 'info', 'warn', 'error'],
    user: 'user',
  },
};

/** One command as a completion script sees it. */
export interface CompletionCommand {
  readonly name: string;
  readonly summary: string;
  readonly options: OptionTable;
  /** The command's --help, where each option's description is read from. */
  readonly help: string;
  /** Words its first argument completes to (`completion`: bash, zsh). */
  readonly words?: readonly string[];
}

/** Every command with its option table (loads every command module). */
export async function completionCommands(): Promise<CompletionCommand[]> {
  const commands = await Promise.all(
    COMMANDS.map(async (c) => ({ name: c.name, summary: c.summary, ...(await c.spec()) })),
  );
  const self = { name: 'completion', summary: 'print a bash or zsh completion script', words: SHELLS };
  return [...commands, { ...self, ...COMPLETION_COMMAND }];
}

/** `--name` and `-s` of one option. */
const spellings = (name: string, short: string | undefined): string[] => [
  `--${name}`,
  ...(short === undefined ? [] : [`-${short}`]),
];

/** The first line of an option's description in a help page (zsh shows it next to the option). */
export function optionDescription(help: string, name: string): string {
  const lines = help.split('\n');
  const head = new RegExp(`^\\s+(?:-\\w, )?--${name}(?: (?:[A-Z][A-Z:|]*|on\\|off))?(?=\\s|$)`);
  const at = lines.findIndex((l) => head.test(l));
  if (at < 0) return '';
  const rest = (lines[at] as string).replace(head, '').trim();
  const text = (rest === '' ? (lines[at + 1] ?? '') : rest).trim();
  // A parenthesis the next line would close is left out: `address (IPv6 link-local as` -> `address`.
  const open = text.split('(').length - text.split(')').length;
  const closed = open > 0 ? text.slice(0, text.lastIndexOf('(')) : text;
  return closed.replace(/[,;:]?\s*$/, '');
}

/** The script for `shell`. */
export function completionScript(shell: Shell, commands: readonly CompletionCommand[]): string {
  return shell === 'bash' ? bashScript(commands) : zshScript(commands);
}

/** A bash completion function for `echolot` (needs bash 4; works without bash-completion). */
export function bashScript(commands: readonly CompletionCommand[]): string {
  const top = [...commands.map((c) => c.name), 'help', ...TOP_OPTIONS.filter((o) => o.startsWith('--'))];
  const branch = (c: CompletionCommand): string => {
    const hints = VALUE_HINTS[c.name] ?? {};
    const withValue = Object.entries(c.options).filter(([, o]) => o.type === 'string');
    const valueCases = withValue.map(([name, o]) => {
      const hint = hints[name];
      const action =
        hint === 'file'
          ? `COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null`
          : hint === 'dir'
            ? `COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null`
            : hint === 'user'
              ? `COMPREPLY=($(compgen -u -- "$cur"))`
              : hint === undefined
                ? `COMPREPLY=()`
                : `COMPREPLY=($(compgen -W "${hint.join(' ')}" -- "$cur"))`;
      return `        ${spellings(name, o.short).join('|')}) ${action}; return ;;`;
    });
    const words = Object.entries(c.options).flatMap(([name, o]) => spellings(name, o.short));
    const first =
      c.words === undefined
        ? ''
        : `      if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=($(compgen -W "${c.words.join(' ')}" -- "$cur")); return; fi\n`;
    return [
      `    ${c.name})`,
      first +
        (valueCases.length === 0 ? '' : `      case "$prev" in\n${valueCases.join('\n')}\n      esac\n`) +
        `      COMPREPLY=($(compgen -W "${words.join(' ')}" -- "$cur"))`,
      '      ;;',
    ].join('\n');
  };
  return `# bash completion for echolot, printed by 'echolot completion bash'
# (from the option tables of echolot ${commands.map((c) => c.name).join(', ')}).
_echolot() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${top.join(' ')}" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${commands.map(branch).join('\n')}
    help)
      if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(' ')}" -- "$cur")); fi
      ;;
  esac
}
complete -F _echolot echolot
`;
}

/** Text inside single quotes for zsh: ' as '\''. */
const zq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A description for a zsh _arguments spec: [ ] : and \ escaped. */
const zdesc = (s: string): string => s.replace(/[\\[\]:]/g, (c) => `\\${c}`);

/** A zsh completion function for `echolot` (for `source` after compinit, or as `_echolot` in $fpath). */
export function zshScript(commands: readonly CompletionCommand[]): string {
  const branch = (c: CompletionCommand): string => {
    const hints = VALUE_HINTS[c.name] ?? {};
    const specs = Object.entries(c.options).map(([name, o]) => {
      const desc = `[${zdesc(optionDescription(c.help, name))}]`;
      const hint = hints[name];
      const value =
        o.type !== 'string'
          ? ''
          : `:${name}:${
              hint === 'file'
                ? '_files'
                : hint === 'dir'
                  ? '_files -/'
                  : hint === 'user'
                    ? '_users'
                    : hint === undefined
                      ? ' '
                      : `(${hint.join(' ')})`
            }`;
      const repeat = o.multiple === true ? '*' : '';
      if (o.short === undefined) return `      ${zq(`${repeat}--${name}${desc}${value}`)}`;
      const group = repeat === '' ? zq(`(-${o.short} --${name})`) : zq('*');
      return `      ${group}{-${o.short},--${name}}${zq(`${desc}${value}`)}`;
    });
    const positional = c.words === undefined ? [] : [`      ${zq(`1:shell:(${c.words.join(' ')})`)}`];
    return `    ${c.name})\n      _arguments -s \\\n${[...specs, ...positional].join(' \\\n')}\n      ;;`;
  };
  const described = commands.map((c) => zq(`${c.name}:${zdesc(c.summary)}`));
  return `#compdef echolot
# zsh completion for echolot, printed by 'echolot completion zsh'
# (from the option tables of echolot ${commands.map((c) => c.name).join(', ')}).
_echolot() {
  local -a commands
  commands=(${described.join(' ')} 'help:the help of a command')
  if (( CURRENT == 2 )); then
    _describe -t commands 'echolot command' commands
    _arguments '(- *)--help[the commands and exit codes]' '(- *)--version[the version and the datagram I/O path]'
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${commands.map(branch).join('\n')}
    help)
      _describe -t commands 'echolot command' commands
      ;;
  esac
}
if [[ $funcstack[1] == _echolot ]]; then
  _echolot "$@"
else
  compdef _echolot echolot
fi
`;
}

/** `echolot completion SHELL`: prints the script; returns the exit code. */
export async function completionCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('completion', argv, OPTIONS);
  if (values['help'] === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const [shell, ...extra] = positionals;
  if (shell === undefined || extra.length > 0 || !(SHELLS as readonly string[]).includes(shell)) {
    const guess = shell === undefined ? undefined : closest(shell, SHELLS);
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      shell === undefined
        ? `completion needs a shell: bash or zsh (see 'echolot completion --help')`
        : extra.length > 0
          ? `completion takes one shell, got ${positionals.join(' ')}`
          : `completion ${shell}: must be bash or zsh${guess === undefined ? '' : ` (did you mean ${guess}?)`}`,
    );
  }
  process.stdout.write(completionScript(shell as Shell, await completionCommands()));
  return 0;
}
