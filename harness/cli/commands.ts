/**
 * The commands of echolot, each with its option table and help loaded on demand (a command module
 * loads much of echolot). main.ts dispatches by these names, `echolot help` and "did you mean" read
 * it, and `echolot completion` builds its scripts from the option tables it loads.
 */
import type { CommandSpec } from './args.js';

/** One command: its name, a one-line summary and how to load its spec. */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly spec: () => Promise<CommandSpec>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'check',
    summary: 'run the conformance catalogue',
    spec: async () => (await import('./check-command.js')).CHECK_COMMAND,
  },
  {
    name: 'load',
    summary: 'load-test an echo server: latency, rates, loss',
    spec: async () => (await import('./load-command.js')).LOAD_COMMAND,
  },
  {
    name: 'merge',
    summary: 'merge the shards of a distributed load run into one report',
    spec: async () => (await import('./merge-command.js')).MERGE_COMMAND,
  },
  {
    name: 'matrix',
    summary: 'check several echo servers side by side',
    spec: async () => (await import('./matrix-command.js')).MATRIX_COMMAND,
  },
  {
    name: 'serve',
    summary: 'run the reference echo server',
    spec: async () => (await import('./serve-command.js')).SERVE_COMMAND,
  },
];

/** The words main.ts takes first: the commands above, `completion` (built from them), `help`, and the top-level options. */
export const VERBS: readonly string[] = [...COMMANDS.map((c) => c.name), 'completion', 'help'];
export const TOP_OPTIONS: readonly string[] = ['--help', '-h', '--version', '-V'];
